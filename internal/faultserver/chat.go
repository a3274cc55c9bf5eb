package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

var completionSeq atomic.Int64

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens int `json:"max_tokens"`
}

// answer is what the server will say to one request.
type answer struct {
	reasoning []string // pieces of reasoning, streamed one per chunk
	content   []string // pieces of the answer
	calls     []toolCall
	finish    string
	prompt    int
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error(), "invalid_request_error")
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "'messages' is required", "invalid_request_error")
		return
	}
	if s.opts.Hang == "chat" {
		<-r.Context().Done()
		return
	}
	a := s.compose(&req)
	id := fmt.Sprintf("chatcmpl-%d", completionSeq.Add(1))
	if req.Stream {
		s.stream(w, r, &req, a, id)
		return
	}
	writeJSON(w, http.StatusOK, s.completion(a, id))
}

// compose scripts the answer to a request.
func (s *server) compose(req *chatRequest) *answer {
	o := s.opts
	a := &answer{calls: o.ToolCalls, finish: "stop"}
	text := o.Answer
	for _, m := range req.Messages {
		a.prompt += len(m.Content)/4 + 4
		if m.Role == "user" && o.Echo {
			text = contentText(m.Content)
		}
	}
	content := pieces(text)
	if req.MaxTokens > 0 && len(content) > req.MaxTokens {
		content, a.finish = content[:req.MaxTokens], "length"
	}
	if len(a.calls) > 0 && a.finish == "stop" {
		a.finish = "tool_calls"
	}
	reasoning := pieces(o.Reasoning)
	switch {
	case len(reasoning) == 0:
		a.content = content
	case o.ReasoningFormat == "think":
		a.content = append(append(append([]string{"<think>"}, reasoning...), "</think>"), content...)
	case o.ReasoningFormat == "bare":
		a.content = append(append(reasoning, "</think>"), content...)
	default:
		a.reasoning, a.content = reasoning, content
	}
	return a
}

// contentText reads a message's content: a string or a list of text parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// pieces splits text into word-sized tokens that join back to it.
func pieces(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text[1:], ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

func (a *answer) completionTokens() int {
	n := len(a.reasoning) + len(a.content)
	for _, c := range a.calls {
		n += len(c.Arguments)/4 + 1
	}
	return n
}

func (a *answer) usage() map[string]any {
	return map[string]any{
		"prompt_tokens":     a.prompt,
		"completion_tokens": a.completionTokens(),
		"total_tokens":      a.prompt + a.completionTokens(),
	}
}

func (a *answer) timings() map[string]any {
	return map[string]any{
		"prompt_n":             a.prompt,
		"prompt_ms":            1.5,
		"prompt_per_second":    float64(a.prompt) / 0.0015,
		"predicted_n":          a.completionTokens(),
		"predicted_ms":         float64(a.completionTokens()) * 2,
		"predicted_per_second": 500.0,
		"cache_n":              0,
	}
}

func callID(id string, i int) string {
	return fmt.Sprintf("call_%s_%d", strings.TrimPrefix(id, "chatcmpl-"), i)
}

// completion is the whole answer as one chat.completion object.
func (s *server) completion(a *answer, id string) map[string]any {
	msg := map[string]any{"role": "assistant"}
	content := strings.Join(a.content, "")
	if content != "" || len(a.calls) == 0 {
		msg["content"] = content
	} else {
		msg["content"] = nil
	}
	if len(a.reasoning) > 0 {
		msg[s.reasoningField()] = strings.Join(a.reasoning, "")
	}
	if len(a.calls) > 0 {
		var calls []any
		for i, c := range a.calls {
			calls = append(calls, map[string]any{
				"id": callID(id, i), "type": "function",
				"function": map[string]any{"name": c.Name, "arguments": c.Arguments},
			})
		}
		msg["tool_calls"] = calls
	}
	return map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": s.opts.modelID(),
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": a.finish}},
		"usage":   a.usage(),
		"timings": a.timings(),
	}
}

func (s *server) reasoningField() string {
	if s.opts.ReasoningFormat == "ollama" {
		return "reasoning"
	}
	return "reasoning_content"
}

// stream sends the answer as server-sent events, a piece per chunk.
func (s *server) stream(w http.ResponseWriter, r *http.Request, req *chatRequest, a *answer, id string) {
	o := s.opts
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	created := time.Now().Unix()
	send := func(v map[string]any) bool {
		if o.SSEPings {
			fmt.Fprint(w, ": ping\n\n")
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		if o.ChunkDelay > 0 {
			select {
			case <-time.After(o.ChunkDelay):
			case <-r.Context().Done():
				return false
			}
		}
		return r.Context().Err() == nil
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": o.modelID(),
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	// piece streams one piece of text and crashes on cue.
	piece := func(delta map[string]any) bool {
		if !send(chunk(delta, nil)) {
			return false
		}
		if n := s.streamed.Add(1); o.CrashMidStream > 0 && n >= int64(o.CrashMidStream) {
			line := o.Crash
			if line == "" {
				line = "faultserver: crashing mid-stream"
			}
			s.crash(line)
		}
		return true
	}

	if !send(chunk(map[string]any{"role": "assistant", "content": nil}, nil)) {
		return
	}
	for _, p := range a.reasoning {
		if !piece(map[string]any{s.reasoningField(): p}) {
			return
		}
	}
	for _, p := range a.content {
		if !piece(map[string]any{"content": p}) {
			return
		}
	}
	for i, c := range a.calls {
		first := map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": callID(id, i), "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": ""},
		}}}
		if !piece(first) {
			return
		}
		for _, frag := range thirds(c.Arguments) {
			if !piece(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": frag}}}}) {
				return
			}
		}
	}
	final := chunk(map[string]any{}, a.finish)
	final["timings"] = a.timings()
	if !send(final) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		if !send(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": o.modelID(),
			"choices": []any{}, "usage": a.usage(), "timings": a.timings(),
		}) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// thirds cuts s into up to three fragments that may split words and JSON
// escapes, as real servers' argument deltas do, but not characters.
func thirds(s string) []string {
	if len(s) < 3 {
		return []string{s}
	}
	cut := func(i int) int {
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		return i
	}
	a := cut(len(s) / 3)
	b := max(cut(2*len(s)/3), a)
	return []string{s[:a], s[a:b], s[b:]}
}
