package backend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Ollama runs `ollama serve` with an address, a model folder and a home
// of its own (so it never touches the user's ollama, not even the key
// pair serve makes in ~/.ollama), registers the GGUF file through its API
// under the per-launch alias with the asked context size (ollama otherwise
// truncates prompts silently at its small default), loads it, and then
// talks to its OpenAI routes.
//
// ollama takes no API key, and the alias exists only once registered, so
// ownership is proved before anything is sent to the server by a token
// blob: Prepare writes a blob named by the digest of a per-launch text
// into the private model folder, and Owns asks the server for it. Only an
// ollama serving from that folder has it; a foreign server on the port
// answers 404 and is never sent the model.
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
				// The token blob is referenced by no manifest; serve's
				// start-up pruning would delete it.
				"OLLAMA_NOPRUNE=1",
				// The answers must come from this machine: no remote
				// inference or web search through ollama's cloud.
				"OLLAMA_NO_CLOUD=1",
			}
			if l.StateDir != "" {
				env = append(env, "OLLAMA_MODELS="+ollamaModels(l), "HOME="+l.StateDir)
			}
			if l.ContextSize > 0 {
				env = append(env, "OLLAMA_CONTEXT_LENGTH="+strconv.Itoa(l.ContextSize))
			}
			return env
		},
		Alias:         true,
		Registers:     true,
		SetsContext:   true,
		HealthPath:    "/api/version",
		ModelsPath:    "/v1/models",
		ReadyLines:    []string{"Listening on"},
		ToolMode:      openai.ToolsNative,
		Prepare:       ollamaPrepare,
		Owns:          ollamaOwns,
		AfterReady:    ollamaRegister,
		ContextWindow: ollamaContext,
		Tools:         ollamaTools,
	}
}

// ollamaModels is the launch's private model folder.
func ollamaModels(l Launch) string { return filepath.Join(l.StateDir, "models") }

// ollamaToken is the ownership token's text and its blob digest. The
// alias is a per-launch nonce, so no other model folder holds the blob.
func ollamaToken(l Launch) (text []byte, digest string) {
	text = []byte("tether ownership token for " + l.Alias + "\n")
	sum := sha256.Sum256(text)
	return text, "sha256:" + hex.EncodeToString(sum[:])
}

// ollamaPrepare writes the ownership token where ollama keeps blobs
// (blobs/sha256-HEX in its model folder).
func ollamaPrepare(l Launch) error {
	if l.StateDir == "" || l.Alias == "" {
		return fmt.Errorf("ollama: a launch needs a state directory and an alias")
	}
	text, digest := ollamaToken(l)
	blobs := filepath.Join(ollamaModels(l), "blobs")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return fmt.Errorf("ollama: model folder: %w", err)
	}
	name := strings.Replace(digest, ":", "-", 1)
	if err := os.WriteFile(filepath.Join(blobs, name), text, 0o600); err != nil {
		return fmt.Errorf("ollama: ownership token: %w", err)
	}
	return nil
}

// ollamaOwns asks the server whether it has the ownership token (HEAD
// /api/blobs/DIGEST answers 200 or 404).
func ollamaOwns(ctx context.Context, s Server) (bool, error) {
	_, digest := ollamaToken(s.Launch)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.BaseURL+"/api/blobs/"+digest, nil)
	if err != nil {
		return false, err
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("HEAD /api/blobs answered HTTP %d", resp.StatusCode)
}

// ollamaRegister makes the model file a blob of the private folder (a
// link, else an upload), creates a model named l.Alias from it with the
// asked context size, and loads it, so that a file ollama cannot use
// fails the launch with an *llm.ModelFileError rather than the first
// request.
func ollamaRegister(ctx context.Context, s Server) error {
	c, base, l := s.HTTP, s.BaseURL, s.Launch
	if l.Alias == "" {
		return fmt.Errorf("ollama: registering a model needs a name")
	}
	digest, err := fileDigest(l.Model)
	if err != nil {
		return &llm.ModelFileError{Path: l.Model, Reason: "cannot read it", Err: err}
	}
	if !ollamaLinkBlob(ctx, s, digest) {
		f, err := os.Open(l.Model)
		if err != nil {
			return &llm.ModelFileError{Path: l.Model, Reason: "cannot read it", Err: err}
		}
		defer f.Close()
		if err := ollamaCall(ctx, c, http.MethodPost, base+"/api/blobs/"+digest, f, nil); err != nil {
			return fmt.Errorf("ollama: uploading %s: %w", filepath.Base(l.Model), err)
		}
	}
	create := map[string]any{
		"model":  l.Alias,
		"files":  map[string]string{filepath.Base(l.Model): digest},
		"stream": false,
	}
	if params := ollamaParameters(l); len(params) > 0 {
		create["parameters"] = params
	}
	body, _ := json.Marshal(create)
	if err := ollamaCall(ctx, c, http.MethodPost, base+"/api/create", bytes.NewReader(body), nil); err != nil {
		return ollamaFileError(ctx, l, digest, "ollama cannot register it", err)
	}
	// Where ollama found no template of its own that takes tools and
	// tether knows the file's template, it registers the model again with
	// that template in ollama's language (see ollamaTemplates).
	show, err := ollamaShowModel(ctx, s)
	if err != nil {
		return fmt.Errorf("ollama: reading the registered model: %w", err)
	}
	if _, tmpl, ok := ollamaTemplateFor(l.Model); ok && !slices.Contains(show.Capabilities, "tools") {
		create["template"] = tmpl
		body, _ = json.Marshal(create)
		if err := ollamaCall(ctx, c, http.MethodPost, base+"/api/create", bytes.NewReader(body), nil); err != nil {
			return ollamaFileError(ctx, l, digest, "ollama cannot register it with its chat template", err)
		}
	}
	// A generate request without a prompt loads the model and answers.
	body, _ = json.Marshal(map[string]any{"model": l.Alias, "keep_alive": -1, "stream": false})
	if err := ollamaCall(ctx, c, http.MethodPost, base+"/api/generate", bytes.NewReader(body), nil); err != nil {
		return ollamaFileError(ctx, l, digest, "ollama cannot load it", err)
	}
	return nil
}

// ollamaLinkBlob puts the model file in the private model folder as the
// blob of its digest by a symbolic link, which spares copying a file of
// many gigabytes through the upload route, and reports whether the server
// then has the blob. The server is ours (Owns), so it serves from that
// folder; on any failure the caller uploads instead.
func ollamaLinkBlob(ctx context.Context, s Server, digest string) bool {
	l := s.Launch
	if l.StateDir == "" {
		return false
	}
	link := filepath.Join(ollamaModels(l), "blobs", strings.Replace(digest, ":", "-", 1))
	if err := os.Symlink(l.Model, link); err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.BaseURL+"/api/blobs/"+digest, nil)
	if err != nil {
		return false
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		os.Remove(link)
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		os.Remove(link)
		return false
	}
	return true
}

// ollamaParameters are the model's parameters for the launch: the
// context size, no GPU layers when the GPU is not wanted (ollama has no
// command-line switch for it), and the CPU threads.
func ollamaParameters(l Launch) map[string]any {
	params := map[string]any{}
	if l.ContextSize > 0 {
		params["num_ctx"] = l.ContextSize
	}
	if !l.GPU {
		params["num_gpu"] = 0
	}
	if l.Threads > 0 {
		params["num_thread"] = l.Threads
	}
	return params
}

// ollamaFileError reads a refused registration or load as the model
// file's fault, which it is once the server has answered; a transport
// failure or our own cancellation stays what it is. ollama names the file
// by its blob in the private folder, which is gone when the error is
// read: the message names the model file instead.
func ollamaFileError(ctx context.Context, l Launch, digest, reason string, err error) error {
	var status *ollamaStatusError
	if ctx.Err() != nil || !errors.As(err, &status) {
		return fmt.Errorf("ollama: %s: %w", reason, err)
	}
	msg := status.Message
	if l.StateDir != "" {
		blob := filepath.Join(ollamaModels(l), "blobs", strings.Replace(digest, ":", "-", 1))
		msg = strings.ReplaceAll(msg, blob, l.Model)
	}
	return &llm.ModelFileError{Path: l.Model, Reason: reason, Err: errors.New(msg)}
}

// ollamaShow is the part of /api/show's answer the profile reads.
type ollamaShow struct {
	Parameters   string         `json:"parameters"`
	Template     string         `json:"template"`
	Capabilities []string       `json:"capabilities"`
	ModelInfo    map[string]any `json:"model_info"`
}

func ollamaShowModel(ctx context.Context, s Server) (ollamaShow, error) {
	body, _ := json.Marshal(map[string]string{"model": s.Launch.Alias})
	var show ollamaShow
	err := ollamaCall(ctx, s.HTTP, http.MethodPost, s.BaseURL+"/api/show", bytes.NewReader(body), &show)
	return show, err
}

// ollamaContext reads the context window of our model: the loaded
// runner's (/api/ps context_length), else the num_ctx parameter we set,
// else the architecture's context length.
func ollamaContext(ctx context.Context, s Server) (int, bool) {
	var ps struct {
		Models []struct {
			Name          string `json:"name"`
			Model         string `json:"model"`
			ContextLength int    `json:"context_length"`
		} `json:"models"`
	}
	if ollamaCall(ctx, s.HTTP, http.MethodGet, s.BaseURL+"/api/ps", nil, &ps) == nil {
		for _, m := range ps.Models {
			if ollamaNamed(m.Name, s.Launch.Alias) || ollamaNamed(m.Model, s.Launch.Alias) {
				if m.ContextLength > 0 {
					return m.ContextLength, true
				}
			}
		}
	}
	show, err := ollamaShowModel(ctx, s)
	if err != nil {
		return 0, false
	}
	if n, ok := ollamaNumCtx(show.Parameters); ok {
		return n, true
	}
	for k, v := range show.ModelInfo {
		if n, ok := v.(float64); ok && strings.HasSuffix(k, ".context_length") && n > 0 {
			return int(n), true
		}
	}
	return 0, false
}

// ollamaNumCtx finds num_ctx in /api/show's parameters, which ollama
// writes one a line as a Modelfile would: a name, blanks, a value.
func ollamaNumCtx(parameters string) (int, bool) {
	for line := range strings.SplitSeq(parameters, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "num_ctx" {
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}

// ollamaTools picks how tools travel: natively where ollama's template
// for the model takes them ("tools" among its capabilities: one of
// ollama's own, or the one tether registered, see ollamaTemplates);
// otherwise ollama refuses a request with tools, and tether describes the
// tools in the prompt and reads calls from the text instead.
func ollamaTools(ctx context.Context, s Server) (openai.ToolMode, error) {
	show, err := ollamaShowModel(ctx, s)
	if err != nil {
		return 0, fmt.Errorf("ollama: reading the model's capabilities: %w", err)
	}
	if strings.TrimSpace(show.Template) == ollamaBareTemplate {
		s.logger().Warn("ollama has no chat template for this model and sends it only the text of the last user turns, "+
			"without roles or system prompt; tether's own server (--backend tether) or llama-server render the model's template",
			"model", filepath.Base(s.Launch.Model))
	}
	if slices.Contains(show.Capabilities, "tools") {
		return openai.ToolsNative, nil
	}
	return openai.ToolsText, nil
}

// ollamaBareTemplate is the template ollama falls back to when it knows
// none for a model.
const ollamaBareTemplate = "{{ .Prompt }}"

// ollamaNamed reports whether name, as ollama lists a model, is alias:
// ollama adds the tag ":latest" to an untagged name.
func ollamaNamed(name, alias string) bool {
	return alias != "" && (name == alias || name == alias+":latest")
}

// ollamaStatusError is an answer of ollama's other than 2xx.
type ollamaStatusError struct {
	Code    int
	Message string
}

func (e *ollamaStatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
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
		// ollama's errors are {"error": "..."}; anything else is shown as it is.
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &ollamaStatusError{Code: resp.StatusCode, Message: msg}
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
