package engine

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/llm"
)

// The scheduler is one goroutine that owns the model's workspace and the
// slots. Generations wait in a FIFO queue for a free slot. Each round it
// evaluates, in one forward pass, the next token of every slot that is
// decoding together with one prompt chunk (Options.Batch tokens) of the
// longest-waiting slot that is still reading its prompt, so the weights
// are read once for both. So decoding
// sequences advance together, a long prompt cannot starve them for more
// than one chunk at a time, and a sequence's arithmetic does not depend
// on what else is running.
type scheduler struct {
	e     *Engine
	m     *model.Model
	tok   *tokenizer.Tokenizer
	ws    *model.Workspace
	vocab int
	batch int

	slots  []*slot
	logits []float32 // (Parallel + 1) × vocab: a round's logits
	// decoding and steps are scratch for building a round.
	decoding []*generation
	steps    []model.Step
	clock    uint64 // orders slot use, for choosing which cache to reuse

	// root ends when the engine closes; it cancels every generation's
	// context, so that a long prompt stops between layers.
	root    context.Context
	closeFn context.CancelFunc

	mu      sync.Mutex
	queue   []*generation
	active  int
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

// slot is one sequence's place: a KV cache and the tokens in it.
type slot struct {
	cache    *model.Cache
	pending  [1]int32 // the token a step evaluates
	tokens   []int32
	gen      *generation
	lastUsed uint64
}

func newScheduler(e *Engine) (*scheduler, error) {
	cfg := e.model.Config()
	s := &scheduler{
		e: e, m: e.model, tok: e.tok, vocab: cfg.Vocab, batch: e.opts.Batch,
		logits:  make([]float32, (e.opts.Parallel+1)*cfg.Vocab),
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	s.root, s.closeFn = context.WithCancel(context.Background())
	var err error
	// A round holds a prompt chunk and one token of every other slot.
	if s.ws, err = e.model.NewWorkspace(e.opts.Batch + e.opts.Parallel); err != nil {
		return nil, err
	}
	for range e.opts.Parallel {
		c, err := e.model.NewCache(e.opts.ContextLength, e.opts.KVType)
		if err != nil {
			return nil, err
		}
		s.slots = append(s.slots, &slot{cache: c, tokens: make([]int32, 0, e.opts.ContextLength)})
	}
	go s.run()
	return s, nil
}

// generation is one request's state. The fields after out belong to the
// scheduler goroutine.
type generation struct {
	ctx         context.Context
	cancel      context.CancelFunc
	cancelCause context.CancelCauseFunc
	req         Request
	prompt      []int32
	sampler     *sample.Sampler
	stop        *sample.StopMatcher
	dec         *tokenizer.StreamDecoder
	out         outbox
	// text is the generation's released text, append-only: each
	// token's Text is a view of the bytes it added, so releasing text
	// allocates nothing but the buffer's growth. Bytes once handed out
	// are never written again, and a grown buffer leaves the old one to
	// the strings that still point into it.
	text []byte
	// piece is scratch for the text a token completes.
	piece []byte
	// matcher follows req.Grammar; nil when unconstrained. While lazy,
	// the grammar waits for req.GrammarTrigger, and seen holds the end
	// of the text generated so far, as long as the trigger at most.
	matcher *grammar.Matcher
	lazy    bool
	seen    []byte

	slot      *slot
	done      int   // prompt tokens in the cache
	cached    int   // of which reused
	pending   int32 // sampled, to be evaluated next; -1 while reading the prompt
	generated int   // tokens sampled, end-of-generation included
	tStart    time.Time
	tPrompt   time.Time // when the prompt was read
}

// submit queues g and wakes the scheduler.
func (s *scheduler) submit(g *generation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.queue = append(s.queue, g)
	// Wake the loop when g is cancelled, to free its place at once, and
	// cancel g when the engine closes.
	context.AfterFunc(g.ctx, s.signal)
	stop := context.AfterFunc(s.root, func() { g.cancelCause(ErrClosed) })
	cancel := g.cancel
	g.cancel = func() {
		stop() // or the engine's context would keep g until it closes
		cancel()
	}
	s.signal()
	return nil
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Queued: len(s.queue), Active: s.active, Slots: len(s.slots)}
}

// close stops the loop and waits for it; every generation ends with
// ErrClosed.
func (s *scheduler) close() {
	s.mu.Lock()
	s.closed = true
	s.signal()
	s.mu.Unlock()
	s.closeFn()
	<-s.stopped
}

func (s *scheduler) run() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			s.shutdown()
			return
		}
		s.admit()
		s.reap()
		if !s.step() {
			<-s.wake
		}
	}
}

// admit moves queued generations, oldest first, into free slots.
func (s *scheduler) admit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) > 0 {
		g := s.queue[0]
		if g.ctx.Err() != nil {
			s.queue[0] = nil
			s.queue = s.queue[1:]
			g.out.push(Token{}, context.Cause(g.ctx), true)
			g.cancel()
			continue
		}
		if s.shareLater(g) {
			return
		}
		sl := s.freeSlot(g)
		if sl == nil {
			return
		}
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.active++
		s.start(g, sl)
	}
}

// shareLater reports whether g should wait for a slot that is still
// reading a prompt with a longer beginning in common with g's than any
// slot holds now, so that g copies it when it is read instead of
// evaluating it again: identical prompts sent at once (the choices of an
// n > 1 request) are evaluated once. Waiting costs g nothing, as the
// scheduler reads one prompt at a time, oldest first.
func (s *scheduler) shareLater(g *generation) bool {
	if g.req.NoPromptCache {
		return false
	}
	held, coming := 0, 0
	for _, sl := range s.slots {
		held = max(held, commonPrefix(sl.tokens, g.prompt))
		if o := sl.gen; o != nil && o.done < len(o.prompt) {
			coming = max(coming, commonPrefix(o.prompt, g.prompt))
		}
	}
	return min(coming, len(g.prompt)-1) > held
}

// freeSlot picks the free slot whose cache shares the longest beginning
// with g's prompt, the least recently used among equals.
func (s *scheduler) freeSlot(g *generation) *slot {
	var best *slot
	bestShared := -1
	for _, sl := range s.slots {
		if sl.gen != nil {
			continue
		}
		shared := 0
		if !g.req.NoPromptCache {
			shared = commonPrefix(sl.tokens, g.prompt)
		}
		if shared > bestShared || (shared == bestShared && sl.lastUsed < best.lastUsed) {
			best, bestShared = sl, shared
		}
	}
	return best
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// start binds g to sl, keeping the cached beginning of its prompt but
// always evaluating at least the last prompt token, for its logits.
func (s *scheduler) start(g *generation, sl *slot) {
	keep := 0
	if !g.req.NoPromptCache {
		keep = min(commonPrefix(sl.tokens, g.prompt), len(g.prompt)-1)
		keep = s.copyShared(g, sl, keep)
	}
	sl.cache.Truncate(keep)
	sl.tokens = sl.tokens[:keep]
	s.clock++
	sl.gen, sl.lastUsed = g, s.clock
	g.slot, g.done, g.cached, g.pending = sl, keep, keep, -1
	g.tStart = time.Now()
	for _, t := range g.prompt {
		g.sampler.Accept(t) // llama-server feeds the prompt to the penalties
	}
}

// copyShared copies into sl the longest beginning of g's prompt that
// another slot holds, busy or not, when it is longer than the keep tokens
// sl has of its own, and returns how many tokens sl now shares with the
// prompt. So requests with one system prompt, and the choices of an n > 1
// request, evaluate their common beginning once.
func (s *scheduler) copyShared(g *generation, sl *slot, keep int) int {
	var donor *slot
	best := keep
	for _, o := range s.slots {
		if o == sl {
			continue
		}
		if n := min(commonPrefix(o.tokens, g.prompt), len(g.prompt)-1); n > best {
			donor, best = o, n
		}
	}
	if donor == nil || sl.cache.CopyPrefix(donor.cache, best) != nil {
		return keep
	}
	sl.tokens = append(sl.tokens[:0], donor.tokens[:best]...)
	return best
}

// reap ends the generations whose context is done.
func (s *scheduler) reap() {
	for _, sl := range s.slots {
		if g := sl.gen; g != nil && g.ctx.Err() != nil {
			s.fail(g, context.Cause(g.ctx))
		}
	}
}

// step runs one round in one forward pass, so that the weights are read
// once for all of it: the pending token of every decoding slot, and the
// next prompt chunk of the slot that has waited longest. It reports
// whether there was anything to do.
func (s *scheduler) step() bool {
	s.decoding, s.steps = s.decoding[:0], s.steps[:0]
	for _, sl := range s.slots {
		g := sl.gen
		if g == nil || g.pending < 0 {
			continue
		}
		if sl.cache.Len() >= sl.cache.Cap() {
			s.finish(g, StopContext)
			continue
		}
		s.decoding = append(s.decoding, g)
		s.steps = append(s.steps, model.Step{Cache: sl.cache, Tokens: sl.next(g.pending), Logits: true})
	}
	var pre *generation
	for _, sl := range s.slots {
		if g := sl.gen; g != nil && g.done < len(g.prompt) && (pre == nil || sl.lastUsed < pre.slot.lastUsed) {
			pre = g
		}
	}
	var chunk []int32
	if pre != nil {
		chunk = pre.prompt[pre.done:min(pre.done+s.batch, len(pre.prompt))]
		s.steps = append(s.steps, model.Step{Cache: pre.slot.cache, Tokens: chunk, Logits: pre.done+len(chunk) == len(pre.prompt)})
	}
	if len(s.steps) == 0 {
		return false
	}
	rows := len(s.decoding)
	if pre != nil && s.steps[len(s.steps)-1].Logits {
		rows++
	}
	logits := s.logits[:rows*s.vocab]
	// A prompt's pass stops between layers when its request ends (its
	// context also ends when the engine closes); the decoding
	// generations then simply run again next round.
	ctx := s.root
	if pre != nil {
		ctx = pre.ctx
	}
	if err := s.m.EvalSteps(ctx, s.ws, s.steps, logits); err != nil {
		switch {
		case s.root.Err() != nil:
			err = ErrClosed
		case pre != nil && pre.ctx.Err() != nil:
			s.fail(pre, context.Cause(pre.ctx))
			return true
		default:
			err = fmt.Errorf("engine: evaluate: %w", err)
		}
		for _, g := range s.decoding {
			s.fail(g, err)
		}
		if pre != nil {
			s.fail(pre, err)
		}
		return true
	}
	for i, g := range s.decoding {
		g.slot.tokens = append(g.slot.tokens, g.pending)
		g.pending = -1
		s.next(g, logits[i*s.vocab:(i+1)*s.vocab])
	}
	if pre != nil {
		pre.slot.tokens = append(pre.slot.tokens, chunk...)
		pre.done += len(chunk)
		if pre.done == len(pre.prompt) {
			pre.tPrompt = time.Now()
			s.next(pre, logits[len(s.decoding)*s.vocab:])
		}
	}
	return true
}

// next returns the one-token slice of tok for a step, backed by the
// slot's own memory so that building a round does not allocate.
func (sl *slot) next(tok int32) []int32 {
	sl.pending[0] = tok
	return sl.pending[:]
}

// next samples g's next token from logits and decides whether to go on.
func (s *scheduler) next(g *generation, logits []float32) {
	if err := g.constrain(logits); err != nil {
		s.fail(g, err)
		return
	}
	tok, err := g.sampler.Sample(logits)
	if err != nil {
		s.fail(g, err)
		return
	}
	g.sampler.Accept(tok)
	g.generated++
	grammarDone, err := g.follow(tok, s.tok.Piece(tok, false))
	if err != nil {
		s.fail(g, err)
		return
	}
	if !g.req.IgnoreEOG && s.tok.IsEOG(tok) {
		s.finish(g, StopEOG)
		return
	}
	g.piece = g.dec.AppendAdd(g.piece[:0], tok)
	start := len(g.text)
	var stopped bool
	g.text, stopped = g.stop.AppendPush(g.text, g.piece)
	item := Token{ID: tok, Text: g.textSince(start)}
	if g.req.Logprobs || g.req.TopLogprobs > 0 {
		item.Logprob, item.TopLogprobs = logprobsOf(logits, tok, g.req.TopLogprobs)
	}
	g.out.push(item, nil, false)
	switch {
	case stopped:
		s.finish(g, StopString)
	case grammarDone:
		s.finish(g, StopEOG)
	case g.req.MaxTokens > 0 && g.generated >= g.req.MaxTokens:
		s.finish(g, StopMaxTokens)
	default:
		g.pending = tok
	}
}

// textSince is the released text from byte start on, as a string that
// shares g.text's memory (see generation.text).
func (g *generation) textSince(start int) string {
	if start == len(g.text) {
		return ""
	}
	return unsafe.String(&g.text[start], len(g.text)-start)
}

// finish ends g normally, releasing the text held back.
func (s *scheduler) finish(g *generation, reason StopReason) {
	text, stopped := g.stop.Push(g.dec.Flush())
	if stopped {
		reason = StopString
	} else {
		text += g.stop.Flush()
	}
	end := time.Now()
	sum := Summary{
		Reason:       reason,
		PromptTokens: len(g.prompt),
		CachedTokens: g.cached,
		Timings: llm.Timings{
			PromptTokens:    len(g.prompt) - g.cached,
			PromptMS:        ms(g.tPrompt.Sub(g.tStart)),
			GeneratedTokens: g.generated,
			GenerationMS:    ms(end.Sub(g.tPrompt)),
		},
	}
	g.out.push(Token{ID: -1, Text: text, Done: true, Summary: sum}, nil, true)
	s.release(g)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fail ends g with err.
func (s *scheduler) fail(g *generation, err error) {
	g.out.push(Token{}, err, true)
	s.release(g)
}

func (s *scheduler) release(g *generation) {
	if g.slot != nil {
		g.slot.gen = nil
		g.slot = nil
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}
	g.cancel()
}

// shutdown ends every generation, running or queued, with ErrClosed.
func (s *scheduler) shutdown() {
	for _, sl := range s.slots {
		if sl.gen != nil {
			s.fail(sl.gen, ErrClosed)
		}
	}
	s.mu.Lock()
	queue := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, g := range queue {
		s.fail(g, ErrClosed)
	}
}

// outbox carries a generation's items from the scheduler to its reader
// without ever blocking the scheduler.
type outbox struct {
	mu     sync.Mutex
	items  []item
	ended  bool
	notify chan struct{} // capacity 1
}

type item struct {
	tok Token
	err error
}

func (o *outbox) push(t Token, err error, final bool) {
	o.mu.Lock()
	if !o.ended {
		o.items = append(o.items, item{t, err})
		o.ended = final
	}
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// take moves the waiting items into buf and reports whether the stream
// has ended.
func (o *outbox) take(buf []item) ([]item, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf = append(buf[:0], o.items...)
	clear(o.items)
	o.items = o.items[:0]
	return buf, o.ended
}
