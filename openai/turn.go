package openai

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/think"
	"github.com/tetherllm/tether/toolcall"
)

// turn puts one answer together from a complete message or from streamed
// chunks, and, when streaming, emits its events as they become certain.
//
// A Complete's Response is computed from the whole answer (think.Split
// and toolcall.Parse on all content). A stream's Response is what the
// stream sent, as the llm contract requires: its text and reasoning are
// the deltas joined, so a bare </think> after text already sent leaves
// that text as text (set Options.ReasoningStartsOpen for servers whose
// templates open the block in the prompt). Calls found while streaming
// keep their ids in it.
type turn struct {
	c     *Client
	stops []string
	emit  func(llm.Event) bool // nil when not streaming
	// stopped is set when the consumer stopped the stream.
	stopped bool

	content     strings.Builder // all content, as sent
	sentText    strings.Builder // text deltas emitted
	sentThought strings.Builder // reasoning deltas emitted
	reasoning   strings.Builder // reasoning sent apart from content
	open        bool            // content starts inside a <think> block
	openKnown   bool
	splitter    *think.Splitter
	textCalls   *toolcall.Stream
	found       []llm.ToolCall  // text calls found while streaming
	emitted     map[string]bool // ids of calls whose events were sent
	native      callAccumulator
	nativeIDs   map[string]bool
	finish      string
	stopReason  json.RawMessage
	usage       *oaiwire.Usage
	timings     *oaiwire.Timings
	start       time.Time
	firstOutput time.Time
}

// newTurn starts a turn for a request sent at start.
func newTurn(c *Client, req llm.Request, start time.Time, emit func(llm.Event) bool) *turn {
	return &turn{c: c, stops: req.Stop, emit: emit, start: start}
}

func (t *turn) send(ev llm.Event) {
	if t.emit == nil {
		return
	}
	switch ev.Kind {
	case llm.EventTextDelta:
		t.sentText.WriteString(ev.Text)
	case llm.EventReasoningDelta:
		t.sentThought.WriteString(ev.Text)
	}
	if !t.stopped && !t.emit(ev) {
		t.stopped = true
	}
}

// apply adds one message or delta.
func (t *turn) apply(w *oaiwire.Delta) {
	if r := w.Thinking(); r != "" {
		t.output()
		t.reasoning.WriteString(r)
		t.send(llm.Event{Kind: llm.EventReasoningDelta, Text: r})
	}
	if w.Content != nil && *w.Content != "" {
		t.output()
		t.addContent(string(*w.Content))
	}
	for i := range w.ToolCalls {
		t.output()
		t.addCallDelta(&w.ToolCalls[i])
	}
}

func (t *turn) output() {
	if t.firstOutput.IsZero() {
		t.firstOutput = time.Now()
	}
}

func (t *turn) addContent(s string) {
	if !t.openKnown {
		// Reasoning the server sent apart means the content after it is
		// the answer, whatever the template did.
		t.open, t.openKnown = t.c.opts.ReasoningStartsOpen && t.reasoning.Len() == 0, true
	}
	t.content.WriteString(s)
	if t.emit == nil {
		return
	}
	if t.splitter == nil {
		t.splitter = think.NewSplitter(t.open)
		t.textCalls = toolcall.NewStream(t.c.ids)
	}
	t.route(t.splitter.Push(s))
}

// route sends what the splitter released: reasoning as it is, text
// through the tool-call parser.
func (t *turn) route(text, reasoning string) {
	if reasoning != "" {
		t.send(llm.Event{Kind: llm.EventReasoningDelta, Text: reasoning})
	}
	if text != "" {
		t.items(t.textCalls.Push(text))
	}
}

func (t *turn) items(items []toolcall.Item) {
	for _, it := range items {
		if it.Call == nil {
			t.send(llm.Event{Kind: llm.EventTextDelta, Text: it.Text})
			continue
		}
		t.found = append(t.found, *it.Call)
		if t.c.opts.ToolMode == ToolsText {
			t.sendCall(*it.Call)
		}
		// In native mode text calls are a fallback, known only at the
		// end.
	}
}

func (t *turn) sendCall(call llm.ToolCall) {
	if t.emitted == nil {
		t.emitted = make(map[string]bool)
	}
	if t.emitted[call.ID] {
		return
	}
	t.emitted[call.ID] = true
	t.send(llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: call.ID, Name: call.Name}})
	t.send(llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &call})
}

func (t *turn) addCallDelta(d *oaiwire.ToolCall) {
	c := t.native.add(d)
	if c.started || c.name == "" {
		return
	}
	c.started = true
	// An id must be unique: replace a missing or repeated one.
	if t.nativeIDs == nil {
		t.nativeIDs = make(map[string]bool)
	}
	if c.id == "" || t.nativeIDs[c.id] {
		c.id = t.c.ids.Next()
	}
	t.nativeIDs[c.id] = true
	t.send(llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: c.id, Name: c.name}})
}

// setChoice records a chunk's or message's finish and stop reasons.
func (t *turn) setChoice(ch *oaiwire.Choice) {
	if ch.FinishReason != nil && *ch.FinishReason != "" {
		t.finish = *ch.FinishReason
	}
	if len(ch.StopReason) > 0 && string(ch.StopReason) != "null" {
		t.stopReason = ch.StopReason
	}
}

func (t *turn) setUsage(r *oaiwire.ChatCompletion) {
	if r.Usage != nil {
		t.usage = r.Usage
	}
	if r.Timings != nil {
		t.timings = r.Timings
	}
}

// done ends the answer: it releases what the stream held back, checks
// the native calls, builds the Response, and emits the remaining call
// events and EventDone.
func (t *turn) done() (*llm.Response, error) {
	if t.splitter != nil {
		t.route(t.splitter.Flush())
		t.items(t.textCalls.Flush())
	}
	native, err := t.native.finish()
	if err != nil {
		if pe, ok := err.(*llm.ProtocolError); ok && t.finish == "length" {
			pe.Reason += " (the answer was cut at max_tokens)"
		}
		return nil, err
	}
	resp := &llm.Response{}
	if !t.openKnown {
		t.open = t.c.opts.ReasoningStartsOpen && t.reasoning.Len() == 0
	}
	var inline string
	if t.open {
		resp.Text, inline = think.SplitOpen(t.content.String())
	} else {
		resp.Text, inline = think.Split(t.content.String())
	}
	resp.Reasoning = joinBlocks(strings.TrimSpace(t.reasoning.String()), inline)
	var textCalls []llm.ToolCall
	resp.Text, textCalls = toolcall.Parse(resp.Text, nil)
	t.keepIDs(textCalls)

	resp.ToolCalls = native
	if len(native) == 0 && len(textCalls) > 0 {
		resp.ToolCalls = textCalls
	}
	for _, c := range native {
		t.send(llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c})
	}
	if len(native) == 0 {
		for _, c := range textCalls {
			t.sendCall(c)
		}
	}
	if t.emit != nil {
		resp.Text, resp.Reasoning = t.sentText.String(), t.sentThought.String()
	}
	resp.StopReason = t.stopReasonFor(len(resp.ToolCalls) > 0)
	t.fillUsage(resp)
	t.send(llm.Event{Kind: llm.EventDone, Response: resp})
	return resp, nil
}

// keepIDs gives the calls parsed from the final text the ids of the same
// calls found while streaming (matched in order by name and input), and
// fresh ids to the others.
func (t *turn) keepIDs(calls []llm.ToolCall) {
	used := make([]bool, len(t.found))
	for i := range calls {
		calls[i].ID = ""
		for j, f := range t.found {
			if !used[j] && f.Name == calls[i].Name && string(f.Input) == string(calls[i].Input) {
				used[j], calls[i].ID = true, f.ID
				break
			}
		}
		if calls[i].ID == "" {
			calls[i].ID = t.c.ids.Next()
		}
	}
}

func (t *turn) stopReasonFor(calls bool) llm.StopReason {
	switch {
	case calls:
		return llm.StopToolUse
	case t.finish == "length":
		return llm.StopMaxTokens
	}
	var matched string
	if json.Unmarshal(t.stopReason, &matched) == nil && matched != "" {
		for _, s := range t.stops {
			if s == matched {
				return llm.StopStopSequence
			}
		}
	}
	return llm.StopEndTurn
}

func (t *turn) fillUsage(resp *llm.Response) {
	switch {
	case t.usage != nil:
		resp.Usage = llm.Usage{InputTokens: t.usage.PromptTokens, OutputTokens: t.usage.CompletionTokens}
	case t.timings != nil:
		resp.Usage = llm.Usage{InputTokens: t.timings.PromptN + t.timings.CacheN, OutputTokens: t.timings.PredictedN}
	}
	if tm := t.timings; tm != nil {
		resp.Timings = llm.Timings{PromptTokens: tm.PromptN, PromptMS: tm.PromptMS, GeneratedTokens: tm.PredictedN, GenerationMS: tm.PredictedMS}
		return
	}
	// The server did not measure: count what the client saw.
	resp.Timings = llm.Timings{PromptTokens: resp.Usage.InputTokens, GeneratedTokens: resp.Usage.OutputTokens}
	if t.emit != nil && !t.firstOutput.IsZero() {
		resp.Timings.PromptMS = ms(t.firstOutput.Sub(t.start))
		resp.Timings.GenerationMS = ms(time.Since(t.firstOutput))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func joinBlocks(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}
