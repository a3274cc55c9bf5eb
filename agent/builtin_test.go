package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuiltinOrder(t *testing.T) {
	ws, err := OpenWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	names := func(tools []Tool) []string {
		var n []string
		for _, tl := range tools {
			n = append(n, tl.Def().Name)
		}
		return n
	}
	base := []string{"read_file", "write_file", "edit_file", "list_files", "grep"}
	if got := names(Builtin(ws, ToolOptions{})); !slices.Equal(got, base) {
		t.Errorf("without shell: %v", got)
	}
	if got := names(Builtin(ws, ToolOptions{Shell: true})); !slices.Equal(got, append(base, "shell")) {
		t.Errorf("with shell: %v", got)
	}
}

// TestToolDefs checks every schema is valid JSON of the shape the drivers
// expect, and names exactly the fields the tool decodes, so that the
// schema a model sees and the strict decoder agree.
func TestToolDefs(t *testing.T) {
	ws, err := OpenWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	inputs := map[string]any{
		"read_file": &readFileInput{}, "write_file": &writeFileInput{}, "edit_file": &editFileInput{},
		"list_files": &listFilesInput{}, "grep": &grepInput{}, "shell": &shellInput{},
	}
	for _, tl := range Builtin(ws, ToolOptions{Shell: true, ShellTimeout: 30 * time.Second}) {
		d := tl.Def()
		var schema struct {
			Type                 string                     `json:"type"`
			Properties           map[string]json.RawMessage `json:"properties"`
			Required             []string                   `json:"required"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(d.InputSchema, &schema); err != nil {
			t.Fatalf("%s: schema: %v", d.Name, err)
		}
		if d.Description == "" || schema.Type != "object" || schema.AdditionalProperties == nil || *schema.AdditionalProperties {
			t.Errorf("%s: %+v", d.Name, schema)
		}
		var props []string
		for p := range schema.Properties {
			props = append(props, p)
		}
		fields := fieldNames(inputs[d.Name])
		slices.Sort(props)
		slices.Sort(fields)
		if !slices.Equal(props, fields) {
			t.Errorf("%s: schema properties %v, decoded fields %v", d.Name, props, fields)
		}
		for _, r := range schema.Required {
			if !slices.Contains(fields, r) {
				t.Errorf("%s: required %q is no field", d.Name, r)
			}
		}
	}
}

func TestStrictInput(t *testing.T) {
	s := newSandbox(t, ToolOptions{Shell: true})
	s.write(t, "a.txt", "a\n")
	for _, c := range []struct {
		tool, input, want string
	}{
		{"read_file", `{"file_path":"a.txt"}`, `unknown field "file_path"`},
		{"read_file", `{"Path":"a.txt"}`, `unknown field "Path"`},
		{"read_file", `{"path":"a.txt","offset":"2"}`, `field "offset" must be an integer, not string`},
		{"read_file", `{"path":"a.txt","offset":1.5}`, `field "offset" must be an integer`},
		{"read_file", `{"path":7}`, `field "path" must be a string, not number`},
		{"read_file", `["a.txt"]`, `must be a JSON object`},
		{"read_file", `"a.txt"`, `must be a JSON object`},
		{"read_file", `null`, `must be a JSON object`},
		{"read_file", `{"path":"a.txt"} {}`, `must be a JSON object`},
		{"read_file", `{}`, `path is empty`},
		{"read_file", ``, `path is empty`},
		{"read_file", `{"path":"a.txt","offset":-1}`, `positive`},
		{"edit_file", `{"path":"a.txt","old_text":"a","new_text":"b","replace_all":"yes"}`, `field "replace_all" must be a boolean`},
		{"write_file", `{"path":"a.txt","content":null}`, `content is required`},
		{"grep", `{"pattern":["a"]}`, `field "pattern" must be a string, not array`},
		{"shell", `{"command":"true","timeout_s":"5"}`, `field "timeout_s" must be an integer`},
	} {
		_, err := s.run(t, c.tool, c.input)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want %q", c.tool, c.input, err, c.want)
		}
	}
	// Fields that are all optional accept an empty input.
	if _, err := s.run(t, "list_files", ``); err != nil {
		t.Errorf("list_files with empty input: %v", err)
	}
}

// FuzzToolInput feeds arbitrary bytes to every file tool on a workspace:
// no input may panic, and nothing may appear outside the workspace. The
// shell tool's decoding is fuzzed without running the command, which
// would run whatever the fuzzer made up.
func FuzzToolInput(f *testing.F) {
	seeds := []struct {
		tool  uint8
		input string
	}{
		{0, `{"path":"a.txt"}`},
		{0, `{"path":"a.txt","offset":2,"limit":1}`},
		{0, `{"path":"../secret.txt"}`},
		{1, `{"path":"new/b.txt","content":"hi\n"}`},
		{1, `{"path":"/tmp/x","content":""}`},
		{1, `{"path":"link/x","content":"x"}`},
		{2, `{"path":"a.txt","old_text":"a","new_text":"b","replace_all":true}`},
		{2, `{"path":"a.txt","old_text":"","new_text":"b"}`},
		{3, `{"pattern":"**/*.txt","path":"."}`},
		{3, `{"pattern":"[","path":"link"}`},
		{4, `{"pattern":"(?i)a+","glob":"*.txt"}`},
		{4, `{"pattern":"a","path":"link"}`},
		{5, `{"command":"echo hi","timeout_s":5}`},
		{5, `{"command":"","timeout_s":-5}`},
		{0, `{"path":"a.txt","path":7}`},
		{0, "\x00"},
		{3, `{"pattern":"**/**/**/**/**/**/**/**/**/**/**/*x"}`},
	}
	for _, s := range seeds {
		f.Add(s.tool, []byte(s.input))
	}
	s := newSandbox(f, ToolOptions{Shell: true})
	s.write(f, "a.txt", "alpha\nbeta\n")
	s.write(f, "dir/b.txt", "gamma\n")
	if err := symlink("..", s.dir, "link"); err != nil {
		f.Fatal(err)
	}
	tools := Builtin(s.ws, ToolOptions{Shell: true})
	shell := tools[len(tools)-1].(shellTool)
	f.Fuzz(func(t *testing.T, which uint8, input []byte) {
		i := int(which) % len(tools)
		if i == len(tools)-1 {
			_, _, _ = shell.decode(input)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = tools[i].Run(ctx, input)
		if extra := s.outsideEntries(t); len(extra) > 0 {
			t.Fatalf("input %q created %v outside the workspace", input, extra)
		}
		if got := s.readOutside(t); got != "top secret\n" {
			t.Fatalf("input %q changed the secret to %q", input, got)
		}
	})
}

func ExampleBuiltin() {
	dir, err := os.MkdirTemp("", "workspace")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ws, err := OpenWorkspace(dir)
	if err != nil {
		panic(err)
	}
	defer ws.Close()

	tools := map[string]Tool{}
	for _, t := range Builtin(ws, ToolOptions{}) {
		tools[t.Def().Name] = t
	}
	ctx := context.Background()
	out, _ := tools["write_file"].Run(ctx, json.RawMessage(`{"path":"hello/main.go","content":"package main\nfunc main() {}\n"}`))
	fmt.Println(out)
	out, _ = tools["read_file"].Run(ctx, json.RawMessage(`{"path":"hello/main.go"}`))
	fmt.Print(out)
	_, err = tools["read_file"].Run(ctx, json.RawMessage(`{"path":"../etc/passwd"}`))
	fmt.Println(strings.ReplaceAll(err.Error(), ws.Dir(), "$WORKSPACE"))
	// Output:
	// wrote 28 bytes to hello/main.go
	//      1	package main
	//      2	func main() {}
	// path ../etc/passwd: outside the workspace $WORKSPACE
}
