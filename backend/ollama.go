package backend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tetherllm/tether/openai"
)

// Ollama runs `ollama serve` with an address and a model folder of its
// own (so it never touches the user's ollama), registers the GGUF file
// through its API under our alias with the asked context size (ollama
// otherwise truncates prompts silently at its small default), and then
// talks to its OpenAI routes. ollama takes no API key; its private model
// folder and the alias it must list are the ownership check.
func Ollama() Profile {
	return Profile{
		Name:        "ollama",
		Program:     "ollama",
		InstallHint: "see https://ollama.com/download",
		Args:        func(l Launch) ([]string, error) { return withExtra([]string{"serve"}, l), nil },
		Env: func(l Launch) []string {
			env := []string{
				"OLLAMA_HOST=" + l.Host + ":" + l.portString(),
				"OLLAMA_KEEP_ALIVE=-1", // we own the server: keep the model loaded
			}
			if l.StateDir != "" {
				env = append(env, "OLLAMA_MODELS="+filepath.Join(l.StateDir, "models"))
			}
			if l.ContextSize > 0 {
				env = append(env, "OLLAMA_CONTEXT_LENGTH="+strconv.Itoa(l.ContextSize))
			}
			return env
		},
		SetsContext:   true,
		HealthPath:    "/api/version",
		ModelsPath:    "/v1/models",
		ReadyLines:    []string{"Listening on"},
		ToolMode:      openai.ToolsNative,
		AfterReady:    ollamaRegister,
		ContextWindow: ollamaContext,
	}
}

// ollamaRegister uploads the model file as a blob and creates a model
// named l.Alias from it.
func ollamaRegister(ctx context.Context, s Server) error {
	c, base, l := s.HTTP, s.BaseURL, s.Launch
	digest, err := fileDigest(l.Model)
	if err != nil {
		return fmt.Errorf("tether: ollama: %w", err)
	}
	f, err := os.Open(l.Model)
	if err != nil {
		return fmt.Errorf("tether: ollama: %w", err)
	}
	defer f.Close()
	if err := ollamaCall(ctx, c, http.MethodPost, base+"/api/blobs/"+digest, f, nil); err != nil {
		return fmt.Errorf("tether: ollama: uploading %s: %w", filepath.Base(l.Model), err)
	}
	create := map[string]any{
		"model":  l.Alias,
		"files":  map[string]string{filepath.Base(l.Model): digest},
		"stream": false,
	}
	if l.ContextSize > 0 {
		create["parameters"] = map[string]any{"num_ctx": l.ContextSize}
	}
	body, _ := json.Marshal(create)
	if err := ollamaCall(ctx, c, http.MethodPost, base+"/api/create", bytes.NewReader(body), nil); err != nil {
		return fmt.Errorf("tether: ollama: creating model %s: %w", l.Alias, err)
	}
	return nil
}

// ollamaContext reads the context window of our model from /api/show:
// the num_ctx parameter we set, else the architecture's context length.
func ollamaContext(ctx context.Context, s Server) (int, bool) {
	body, _ := json.Marshal(map[string]string{"model": s.Launch.Alias})
	var show struct {
		Parameters string         `json:"parameters"`
		ModelInfo  map[string]any `json:"model_info"`
	}
	if err := ollamaCall(ctx, s.HTTP, http.MethodPost, s.BaseURL+"/api/show", bytes.NewReader(body), &show); err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(show.Parameters, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "num_ctx" {
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
				return n, true
			}
		}
	}
	for k, v := range show.ModelInfo {
		if n, ok := v.(float64); ok && strings.HasSuffix(k, ".context_length") && n > 0 {
			return int(n), true
		}
	}
	return 0, false
}

func ollamaCall(ctx context.Context, c *http.Client, method, url string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
