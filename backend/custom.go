package backend

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tetherllm/tether/openai"
)

// placeholder matches {name} in a command template.
var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Custom runs any server from a command template, such as
//
//	my-server --model {model} --listen {host}:{port} --key-file {api_key_file}
//
// The template is split into words as a shell would (single and double
// quotes, backslash escapes) but no shell runs it; then each word's
// placeholders are replaced: {model}, {host}, {port}, {api_key},
// {api_key_file}, {alias}, {ctx}. {port} is required. A template that
// passes {api_key} or {api_key_file} gets a per-launch key, which the
// driver sends; one that passes {alias} must list that alias at
// /v1/models. healthPath defaults to /health, which must answer 200 when
// the server is ready (503 while it loads).
//
// {api_key} puts the key on the command line, where every local user can
// read it (/proc/PID/cmdline); {api_key_file} is instead the path of a
// file only the owner can read, holding the key and a newline. Either way
// the key is also in the server's environment as TETHER_API_KEY, which
// only the owner can read, for servers that take it from there.
func Custom(template, healthPath string) (Profile, error) {
	words, err := splitWords(template)
	if err != nil {
		return Profile{}, fmt.Errorf("server command: %w", err)
	}
	if len(words) == 0 {
		return Profile{}, fmt.Errorf("server command is empty (want e.g. \"my-server --model {model} --port {port}\")")
	}
	used := map[string]bool{}
	for _, w := range words {
		for _, m := range placeholder.FindAllStringSubmatch(w, -1) {
			switch m[1] {
			case "model", "host", "port", "api_key", "api_key_file", "alias", "ctx":
				used[m[1]] = true
			default:
				return Profile{}, fmt.Errorf("server command: unknown placeholder {%s} (known: {model} {host} {port} {api_key} {api_key_file} {alias} {ctx})", m[1])
			}
		}
	}
	if !used["port"] {
		return Profile{}, fmt.Errorf("server command must pass {port}, so the server listens where tether looks")
	}
	if placeholder.MatchString(words[0]) {
		return Profile{}, fmt.Errorf("server command: the program name cannot be a placeholder")
	}
	if healthPath == "" {
		healthPath = "/health"
	}
	if !strings.HasPrefix(healthPath, "/") {
		healthPath = "/" + healthPath
	}
	return Profile{
		Name:    "custom",
		Program: words[0],
		Args: func(l Launch) ([]string, error) {
			values := map[string]string{
				"model": l.Model, "host": l.Host, "port": l.portString(),
				"api_key": l.APIKey, "api_key_file": l.APIKeyFile, "alias": l.Alias, "ctx": strconv.Itoa(l.ContextSize),
			}
			args := make([]string, 0, len(words)-1)
			for _, w := range words[1:] {
				args = append(args, placeholder.ReplaceAllStringFunc(w, func(p string) string {
					return values[p[1:len(p)-1]]
				}))
			}
			return withExtra(args, l), nil
		},
		Env:           keyEnv("TETHER_API_KEY"),
		APIKey:        used["api_key"] || used["api_key_file"],
		Alias:         used["alias"],
		SetsContext:   used["ctx"],
		HealthPath:    healthPath,
		ModelsPath:    "/v1/models",
		ToolMode:      openai.ToolsText,
		ContextWindow: propsOrModels,
	}, nil
}

// splitWords splits s into words as a POSIX shell would, without
// expansions: blanks separate words, single quotes keep everything,
// double quotes keep everything but \" \\ \$ \`, a backslash outside
// quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune("\"\\$`", r) {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case escaped:
		return nil, fmt.Errorf("ends with a lone backslash")
	case quote != 0:
		return nil, fmt.Errorf("unclosed %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
