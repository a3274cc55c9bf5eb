package serve

import (
	"net/http"
	"runtime"
	"strings"

	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/internal/oaiwire"
)

// health answers GET /health as llama-server does: 503 with
// {"error":{"code":"model_loading","message":"Loading model","type":"unavailable_error"},"progress":0}
// while the model loads, 200 {"status":"ok"} when it is ready, 500 if it
// failed to load. (llama-server's code is the status as a number; a
// supervisor reads the status.)
func (s *Server) health(w http.ResponseWriter, _ *http.Request, m *loadedModel) *apiError {
	switch {
	case m != nil && !s.closing.Load():
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	case m != nil:
		writeError(w, errShuttingDown)
	case s.loadErr.Load() != nil:
		writeError(w, loadFailed(*s.loadErr.Load()))
	default:
		// llama-server's loading answer adds a progress fraction; the
		// engine loads in one step, so it stays 0 until ready.
		writeJSON(w, http.StatusServiceUnavailable, struct {
			oaiwire.ErrorBody
			Progress float64 `json:"progress"`
		}{errLoading.body(), 0})
	}
	return nil
}

// listModels answers GET /v1/models: one model, with llama.cpp's meta
// (null while loading) and vLLM's max_model_len.
func (s *Server) listModels(w http.ResponseWriter, _ *http.Request, m *loadedModel) *apiError {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{s.modelObject(m)}})
	return nil
}

// Model retrieval's paths: GET /v1/models/{id} (and /models/{id}); the id
// is the rest of the path, slashes included ("org/model").
const (
	modelPrefix   = "/v1/models/"
	modelPrefixV0 = "/models/"
)

// modelID is the id a model retrieval path names, and whether the path
// is one.
func modelID(path string) (string, bool) {
	if id, ok := strings.CutPrefix(path, modelPrefix); ok {
		return id, true
	}
	return strings.CutPrefix(path, modelPrefixV0)
}

// retrieveModel answers GET /v1/models/{id} with the served model. Every
// id names it, as every model name in a request does, unless
// Config.StrictModel: then only its own names do and others are 404
// model_not_found. An empty id ("/v1/models/") is the list.
func (s *Server) retrieveModel(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	id, _ := modelID(r.URL.Path)
	if id == "" {
		return s.listModels(w, r, m)
	}
	if e := s.checkModel(id); e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, s.modelObject(m))
	return nil
}

// modelObject is the served model in OpenAI's shape; m is nil while the
// model loads.
func (s *Server) modelObject(m *loadedModel) map[string]any {
	model := map[string]any{
		"id":       s.id,
		"object":   "model",
		"created":  s.started.Unix(),
		"owned_by": "tether",
		"meta":     nil,
	}
	if m != nil {
		info := m.eng.Info()
		model["max_model_len"] = info.ContextLength
		model["meta"] = map[string]any{
			"vocab_type":  vocabType(m.eng.Tokenizer().Model()),
			"n_vocab":     info.Vocab,
			"n_ctx_train": info.TrainedContext,
			"n_ctx":       info.ContextLength,
			"n_embd":      info.Embd,
			"n_params":    info.Params,
			"size":        info.WeightBytes,
			"arch":        string(info.Arch),
		}
	}
	return model
}

// props answers GET /props with llama-server's fields: the per-slot
// context, the slots, the model and its chat template, the build.
func (s *Server) props(w http.ResponseWriter, _ *http.Request, m *loadedModel) *apiError {
	info := m.eng.Info()
	defaults := sample.DefaultParams()
	tmpl, terr := m.eng.Template()
	caps := map[string]any{"supports_tools": false, "supports_tool_calls": false}
	family := ""
	if terr == nil {
		family = tmpl.Family()
		caps["supports_tools"] = tmpl.NativeTools()
		caps["supports_tool_calls"] = true // natively or through the text protocol
		caps["tool_syntax"] = tmpl.ToolSyntax()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"n_ctx": info.ContextLength,
		"default_generation_settings": map[string]any{
			"n_ctx": info.ContextLength,
			"model": s.cfg.Model,
			"params": map[string]any{
				"temperature": defaults.Temperature, "top_k": defaults.TopK, "top_p": defaults.TopP,
				"min_p": defaults.MinP, "repeat_penalty": defaults.RepeatPenalty,
				"repeat_last_n": defaults.RepeatLastN, "seed": defaults.Seed, "n_predict": -1,
			},
		},
		"total_slots":          info.Parallel,
		"model_path":           s.cfg.Model,
		"model_alias":          s.id,
		"model_name":           info.Name,
		"chat_template":        info.ChatTemplate,
		"chat_template_family": family,
		"chat_template_caps":   caps,
		"modalities":           map[string]bool{"vision": false, "audio": false},
		"build_info":           s.cfg.Build + " (" + runtime.Version() + ", pure Go, CPU)",
		"is_sleeping":          false,
	})
	return nil
}

// vocabType is llama.cpp's number for a tokenizer model.
func vocabType(model string) int {
	switch model {
	case "llama":
		return 1 // SentencePiece
	case "gpt2":
		return 2 // byte-level BPE
	}
	return 0
}
