package engine

import (
	"errors"
	"fmt"
	"sync"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/llm"
)

// ErrClosed is returned for generations on a closed engine, and ends the
// ones running when it closes.
var ErrClosed = errors.New("engine: closed")

// DefaultMaxContext caps the default context length, so that a model
// trained on 128K tokens does not reserve gigabytes of cache per slot.
const DefaultMaxContext = 8192

// Options configure an engine. Zero values take the defaults.
type Options struct {
	// Threads is how many goroutines the forward pass uses; 0 means
	// GOMAXPROCS.
	Threads int
	// ContextLength is each sequence's context window in tokens, prompt
	// and answer together. 0 means the model's trained context, capped at
	// DefaultMaxContext.
	ContextLength int
	// Parallel is how many sequences run at once, each in its own slot
	// with its own KV cache (memory: Parallel × ContextLength tokens).
	// Further requests wait in FIFO order. 0 means 1.
	Parallel int
	// Batch is how many prompt tokens one forward pass takes; 0 means 512,
	// llama.cpp's default micro-batch.
	Batch int
	// KVType is the KV cache's element type; the default is F16, as in
	// llama.cpp.
	KVType KVType
}

// Engine is a model loaded once and shared by any number of concurrent
// generations. It is safe for concurrent use.
type Engine struct {
	path  string
	file  *gguf.File
	model *model.Model
	tok   *tokenizer.Tokenizer
	tmpl  chat.Template
	// tmplErr is why the file's chat template could not be used; raw
	// prompts still work.
	tmplErr error
	header  header
	opts    Options
	sched   *scheduler
	gvocab  grammarVocab

	closeOnce sync.Once
}

// Load opens the GGUF file at path and builds its tokenizer, chat
// template and model, ready to generate. The weights stay in the file's
// memory mapping. Errors are one line naming the file.
func Load(path string, opts Options) (*Engine, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, &llm.ModelFileError{Path: path, Reason: "cannot open", Err: err}
	}
	e, err := build(path, f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return e, nil
}

func build(path string, f *gguf.File, opts Options) (*Engine, error) {
	chk, err := Check(f)
	if err != nil {
		return nil, err
	}
	if err := CheckMemory(f, chk.Config, opts); err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults(chk.Config)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(f, model.Options{Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	tok, meta := chk.Tokenizer, chk.Meta
	e := &Engine{path: path, file: f, model: m, tok: tok, opts: opts, header: headerOf(f, chk.Config.Embd, meta.ChatTemplate)}
	e.tmpl, e.tmplErr = chat.Parse(meta.ChatTemplate, chat.Specials{BOS: tok.TokenText(tok.BOS()), EOS: tok.TokenText(tok.EOS())})
	if e.tmplErr != nil {
		e.tmplErr = fmt.Errorf("engine: %s: chat template: %w", path, e.tmplErr)
	}
	e.sched, err = newScheduler(e)
	if err != nil {
		m.Close()
		return nil, err
	}
	return e, nil
}

func (o Options) withDefaults(cfg model.Config) (Options, error) {
	switch {
	case o.Threads < 0:
		return o, fmt.Errorf("engine: threads %d must not be negative", o.Threads)
	case o.ContextLength < 0 || o.ContextLength > model.MaxCacheTokens:
		return o, fmt.Errorf("engine: context length %d must be from 0 (the model's) to %d", o.ContextLength, model.MaxCacheTokens)
	case o.Parallel < 0 || o.Parallel > 1024:
		return o, fmt.Errorf("engine: parallel %d must be from 0 (one) to 1024", o.Parallel)
	case o.Batch < 0:
		return o, fmt.Errorf("engine: batch %d must not be negative", o.Batch)
	}
	if o.ContextLength == 0 {
		o.ContextLength = min(cfg.ContextLength, DefaultMaxContext)
	}
	if o.Parallel == 0 {
		o.Parallel = 1
	}
	if o.Batch == 0 {
		o.Batch = 512
	}
	o.Batch = min(o.Batch, o.ContextLength)
	return o, nil
}

// Close stops the engine: running and queued generations end with
// ErrClosed, then the model and its file are released. It waits for the
// forward pass in flight, if any, to finish its current layer.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.sched.close()
		e.model.Close()
		err = e.file.Close()
	})
	return err
}

// Info describes a loaded engine.
type Info struct {
	Path string
	Arch Arch
	// ContextLength is each sequence's window; TrainedContext the
	// model's own.
	ContextLength  int
	TrainedContext int
	Parallel       int
	Vocab          int
	// TemplateFamily is the chat template's family (a chat.Family
	// constant), or "" when the template is unusable.
	TemplateFamily string
	// KVCacheBytes is the memory of all slots' caches.
	KVCacheBytes int64
	// From the file's header: general.name, the embedding width, the
	// weights' parameter count and bytes, and the chat template's source.
	Name         string
	Embd         int
	Params       uint64
	WeightBytes  uint64
	ChatTemplate string
}

// Info describes the engine.
func (e *Engine) Info() Info {
	cfg := e.model.Config()
	info := Info{
		Path: e.path, Arch: cfg.Arch, ContextLength: e.opts.ContextLength, TrainedContext: cfg.ContextLength,
		Parallel: e.opts.Parallel, Vocab: cfg.Vocab,
		KVCacheBytes: model.MulBytes(int64(e.opts.Parallel), e.model.CacheBytes(e.opts.ContextLength, e.opts.KVType)),
	}
	if e.tmpl != nil {
		info.TemplateFamily = e.tmpl.Family()
	}
	h := e.header
	info.Name, info.Embd, info.Params, info.WeightBytes, info.ChatTemplate = h.name, h.embd, h.params, h.weightBytes, h.chatTemplate
	return info
}

// header is what Info tells of the file's header, read once at load.
type header struct {
	name                string
	embd                int
	params, weightBytes uint64
	chatTemplate        string
}

func headerOf(f *gguf.File, embd int, chatTemplate string) header {
	h := header{embd: embd, chatTemplate: chatTemplate}
	h.name, _ = gguf.GetOr(f, "general.name", "")
	for _, t := range f.Tensors() {
		h.params += t.Elements()
		h.weightBytes += t.Size
	}
	return h
}

// Tokenizer is the model's tokenizer.
func (e *Engine) Tokenizer() *Tokenizer { return e.tok }

// Template is the model's chat template, or why it cannot be used.
func (e *Engine) Template() (chat.Template, error) { return e.tmpl, e.tmplErr }

// Encode tokenizes a prompt as llama-server does: BOS added where the
// vocabulary asks for it, special-token text turned into special tokens.
func (e *Engine) Encode(text string) []int32 { return e.tok.Encode(text, true, true) }

// EncodeLimit is Encode that gives up once the prompt surely has more
// than limit tokens (see [Tokenizer.EncodeLimit]); complete is
// false when it gave up, and ids then holds the tokens found so far.
func (e *Engine) EncodeLimit(text string, limit int) (ids []int32, complete bool) {
	return e.tok.EncodeLimit(text, true, true, limit)
}

// EncodePrompt tokenizes a rendered chat prompt so that special-token
// text inside the conversation's own content (a file a tool read, say)
// stays plain text: the template's parts are encoded with special tokens
// parsed, the content spans without. Where the prompt has no spans (Jinja
// templates) this is Encode. Splitting the text can, rarely, change how
// words at a span's edge merge, compared with encoding the whole text.
func (e *Engine) EncodePrompt(p chat.Prompt) []int32 {
	ids, _ := e.EncodePromptLimit(p, -1)
	return ids
}

// EncodePromptLimit is EncodePrompt that gives up once the prompt surely
// has more than limit tokens (limit < 0: no limit), so that a prompt far
// past the context window costs memory in proportion to the window, not
// to the prompt. complete is false when it gave up.
func (e *Engine) EncodePromptLimit(p chat.Prompt, limit int) (ids []int32, complete bool) {
	if p.Content == nil {
		return e.tok.EncodeLimit(p.Text, true, true, limit)
	}
	if e.tok.AddBOS() {
		ids = append(ids, e.tok.BOS())
	}
	// part appends the tokens of one piece of the prompt under what is
	// left of the limit.
	part := func(text string, parseSpecial bool) bool {
		left := -1
		if limit >= 0 {
			left = limit - len(ids)
			if left < 0 {
				return false
			}
		}
		more, ok := e.tok.EncodeLimit(text, false, parseSpecial, left)
		ids = append(ids, more...)
		return ok
	}
	at := 0
	for _, s := range p.Content {
		if s.Start < at || s.End < s.Start || s.End > len(p.Text) {
			// Malformed spans: fall back to the whole text.
			return e.tok.EncodeLimit(p.Text, true, true, limit)
		}
		if !part(p.Text[at:s.Start], true) || !part(p.Text[s.Start:s.End], false) {
			return ids, false
		}
		at = s.End
	}
	if !part(p.Text[at:], true) {
		return ids, false
	}
	if e.tok.AddEOS() {
		ids = append(ids, e.tok.EOS())
	}
	return ids, limit < 0 || len(ids) <= limit
}

// Stats is a snapshot of the engine's load.
type Stats struct {
	// Queued generations wait for a slot; Active ones hold one.
	Queued int
	Active int
	Slots  int
}

// Stats reports the engine's load.
func (e *Engine) Stats() Stats { return e.sched.stats() }
