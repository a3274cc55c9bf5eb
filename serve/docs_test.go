package serve

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docFieldTables reads docs/serve.md's field tables: each follows a
// "<!-- fields: KEY -->" line, and each of its rows is
// "| `name` | status | notes |".
func docFieldTables(t *testing.T, doc string) map[string]map[string]string {
	t.Helper()
	marker := regexp.MustCompile(`(?m)^<!-- fields: (\S+) -->$`)
	row := regexp.MustCompile("^\\| `([^`]+)` \\| (\\w+) \\|")
	tables := map[string]map[string]string{}
	for _, m := range marker.FindAllStringSubmatchIndex(doc, -1) {
		key := doc[m[2]:m[3]]
		if tables[key] != nil {
			t.Errorf("docs/serve.md has two field tables %q", key)
		}
		rows := map[string]string{}
		lines := strings.Split(doc[m[1]:], "\n")
		for i, line := range lines[1:] { // the marker's own line ends first
			if i == 0 && line == "" {
				continue
			}
			if !strings.HasPrefix(line, "|") {
				break
			}
			if r := row.FindStringSubmatch(line); r != nil {
				if _, dup := rows[r[1]]; dup {
					t.Errorf("docs/serve.md table %q lists %q twice", key, r[1])
				}
				rows[r[1]] = r[2]
			}
		}
		tables[key] = rows
	}
	return tables
}

// TestDocsListEveryField checks docs/serve.md against the field tables:
// every field of every request object, with the same status, and no
// field the code does not list.
func TestDocsListEveryField(t *testing.T) {
	data, err := os.ReadFile("../docs/serve.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := docFieldTables(t, string(data))
	code := map[string][]requestField{
		"sampling":                    samplingRequestFields,
		"chat":                        chatOwnFields,
		"completion":                  completionOwnFields,
		"message":                     messageFields,
		"tool":                        toolFields,
		"tool.function":               fieldProps(toolFields, "function"),
		"stream_options":              fieldProps(samplingRequestFields, "stream_options"),
		"response_format":             fieldProps(samplingRequestFields, "response_format"),
		"response_format.json_schema": fieldProps(fieldProps(samplingRequestFields, "response_format"), "json_schema"),
		"chat_template_kwargs":        fieldProps(chatOwnFields, "chat_template_kwargs"),
		"tokenize":                    tokenizeFields,
		"detokenize":                  detokenizeFields,
	}
	// Every object whose fields the code checks has its table.
	tableOf := map[string]string{"messages": "message", "tools": "tool", "function": "tool.function",
		"stream_options": "stream_options", "chat_template_kwargs": "chat_template_kwargs",
		"response_format": "response_format", "json_schema": "response_format.json_schema"}
	for key, fields := range code {
		for _, f := range fields {
			if (f.props != nil || f.elems != nil) && code[tableOf[f.name]] == nil {
				t.Errorf("%s.%s has fields of its own, and no table lists them here or in docs/serve.md", key, f.name)
			}
		}
	}
	for key, fields := range code {
		rows, ok := doc[key]
		if !ok {
			t.Errorf("docs/serve.md has no field table %q", key)
			continue
		}
		for _, f := range fields {
			switch status, ok := rows[f.name]; {
			case !ok:
				t.Errorf("docs/serve.md table %q lacks %q (%s)", key, f.name, f.status)
			case status != f.status.String():
				t.Errorf("docs/serve.md table %q says %q is %s; the code says %s", key, f.name, status, f.status)
			}
			delete(rows, f.name)
		}
		for name := range rows {
			t.Errorf("docs/serve.md table %q lists %q, which the code does not", key, name)
		}
	}
	for key := range doc {
		if code[key] == nil {
			t.Errorf("docs/serve.md has a field table %q the code does not", key)
		}
	}
}

// TestDocsListEveryEndpoint checks that docs/serve.md names every path
// the server answers.
func TestDocsListEveryEndpoint(t *testing.T) {
	data, err := os.ReadFile("../docs/serve.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	s, err := New(Config{Model: "unused.gguf"})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{modelPrefix + "{id}": http.MethodGet, modelPrefixV0 + "{id}": http.MethodGet}
	for p, rt := range s.routes {
		paths[p] = rt.method
	}
	for p, method := range paths {
		if !strings.Contains(doc, "`"+method+" "+p+"`") && !strings.Contains(doc, "`"+p+"`") {
			t.Errorf("docs/serve.md does not name %s %s", method, p)
		}
	}
}
