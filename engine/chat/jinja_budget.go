package chat

import (
	"errors"
	"fmt"
	"io"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// A chat template comes from a model file, which may be hostile: it may
// recurse without end (through a macro, an alias of one, an argument, a
// caller block, a block or a recursive loop), loop for ever, build
// strings and lists far larger than memory, or scan large ones over and
// over. Every render therefore runs under an
// evaluation budget: a bound on how deeply template code may nest at run
// time, on how many steps it may take, and on the size of every value it
// builds. Going past any of them stops the render at once with a
// *LimitError (errors.Is ErrTemplateLimit), wrapped in a *TemplateError.
//
// gonja has no hooks for this, so the parsed tree is instrumented (see
// instrument): every node a template executes passes through a guard that
// counts depth and steps, and the operators and built-ins that build or
// scan values are replaced by versions that check sizes before allocating
// and charge steps for the work (see jinja_ops.go, jinja_kit.go).

// ErrTemplateLimit is matched (errors.Is) by every error from a render
// that a template stopped by going past its evaluation budget: a hostile
// or broken template in the model file.
var ErrTemplateLimit = errors.New("chat: template exceeds its evaluation budget")

// LimitError says which budget a template went past.
type LimitError struct {
	// Limit names the budget: "call depth", "steps", "string size",
	// "list length", "value nesting", "output size".
	Limit string
	// Max is the budget's bound, in the budget's unit.
	Max int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s exceeds the limit of %d", e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrTemplateLimit) hold.
func (e *LimitError) Is(target error) bool { return target == ErrTemplateLimit }

// The budget's bounds. Each is far above what real templates use (the
// official templates in testdata take about 30 steps a message and nest a
// dozen deep) and far below what would exhaust the Go stack, memory or
// patience.
const (
	// maxEvalDepth bounds how many template nodes may be executing at
	// once: lexical nesting plus every level of recursion. Python's
	// Jinja2 stops macro recursion at a few hundred levels.
	maxEvalDepth = 1000
	// maxValueBytes bounds any string a template builds, and the output
	// of a render or of a macro, caller or set block.
	maxValueBytes = maxRenderOutput
	// maxListItems bounds any list a template builds.
	maxListItems = 1 << 20
	// maxValueNesting bounds how deeply a value a template stores may
	// nest (lists in lists); it also refuses values that contain
	// themselves, which gonja's printers would follow for ever.
	maxValueNesting = 100
	// baseSteps is the step budget of a render of an empty
	// conversation; each byte of the conversation adds stepsPerByte. The
	// official templates take about 30 steps a message; a step takes a
	// few microseconds.
	baseSteps    = 1 << 18
	stepsPerByte = 4
	// bytesPerStep: building a string or list costs a step per this
	// many bytes (list items count 16 bytes), so that copying large
	// values also draws on the budget.
	bytesPerStep = 256
)

// evalBudget is the budget of one render. gonja renders in the calling
// goroutine, so it needs no locking.
type evalBudget struct {
	steps    int
	maxSteps int
	depth    int
}

// limitExceeded is the panic that stops a render past its budget; render
// recovers it. A panic, not an error, because gonja drops some errors (a
// failing loop filter reads as false) and keeps going.
type limitExceeded struct{ err *LimitError }

func exceed(limit string, max int) {
	panic(limitExceeded{&LimitError{Limit: limit, Max: max}})
}

// stepBudget is the step budget of a render of a conversation of so many
// bytes.
func stepBudget(conversationBytes int) int {
	return baseSteps + stepsPerByte*conversationBytes
}

func (b *evalBudget) step(n int) {
	b.steps += n
	if b.steps > b.maxSteps {
		exceed("steps", b.maxSteps)
	}
}

// built charges for a new string of n bytes, refusing it if too large.
func (b *evalBudget) built(n int) {
	if n > maxValueBytes {
		exceed("string size", maxValueBytes)
	}
	b.step(n / bytesPerStep)
}

// builtList charges for a new list of n items, refusing it if too long.
func (b *evalBudget) builtList(n int) {
	if n > maxListItems {
		exceed("list length", maxListItems)
	}
	b.step(n * 16 / bytesPerStep)
}

// renderLoader carries the render's budget to the guards: gonja copies
// the loader to every sub-renderer (loops, macros, callers, blocks), and
// reading it is a field access, where the template's variables sit in a
// chain of scopes.
type renderLoader struct {
	loaders.Loader
	budget *evalBudget
}

func budgetOf(r *exec.Renderer) *evalBudget {
	if l, ok := r.Loader.(*renderLoader); ok {
		return l.budget
	}
	panic(limitExceeded{&LimitError{Limit: "unbudgeted render", Max: 0}}) // a programming error
}

// guardNode wraps each node of a parsed template: executing it costs a
// step and a level of depth, and after it the output being written (the
// render's, or a macro's, caller's or set block's) must still be within
// bounds. A guard without an inner node is a tick, put at the head of
// every loop body so that even an empty body costs a step an iteration.
type guardNode struct {
	inner nodes.Node
	pos   *tokens.Token
}

func newGuard(inner nodes.Node, pos *tokens.Token) *nodes.ControlStructureBlock {
	if pos == nil {
		pos = &tokens.Token{}
	}
	return &nodes.ControlStructureBlock{Location: pos, Name: "guard", ControlStructure: &guardNode{inner: inner, pos: pos}}
}

func (g *guardNode) Position() *tokens.Token { return g.pos }

func (g *guardNode) String() string {
	if g.inner != nil {
		return g.inner.String()
	}
	return "loop"
}

// Execute implements exec.ControlStructure.
func (g *guardNode) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	b := budgetOf(r)
	b.depth++
	if b.depth > maxEvalDepth {
		exceed("call depth", maxEvalDepth)
	}
	b.step(1)
	var err error
	switch n := g.inner.(type) {
	case nil:
	case *nodes.Output:
		err = guardedOutput(r, b, n)
	default:
		_, err = r.Visit(n)
	}
	b.depth--
	if w, ok := r.Output.(interface{ Len() int }); ok && w.Len() > maxValueBytes {
		exceed("output size", maxValueBytes)
	}
	return err
}

// guardedOutput prints {{ … }} as gonja does, after checking that a value
// that is not a string (a list, a dict) prints within bounds: gonja
// prints lists and dicts recursively, and a list that holds itself twice,
// nested sixty deep, prints as 2^60 copies.
func guardedOutput(r *exec.Renderer, b *evalBudget, n *nodes.Output) error {
	var value *exec.Value
	if n.Condition != nil {
		condition := r.Eval(n.Condition)
		if condition.IsError() {
			return fmt.Errorf("unable to render condition at line %d: %s: %w", n.Condition.Position().Line, n.Condition, condition)
		}
		switch {
		case !condition.IsNil() && condition.IsTrue():
			value = r.Eval(n.Expression)
		case n.Alternative != nil:
			value = r.Eval(n.Alternative)
		default:
			return nil
		}
	} else {
		value = r.Eval(n.Expression)
	}
	if value.IsError() {
		return fmt.Errorf("unable to render expression at line %d: %s: %w", n.Expression.Position().Line, n.Expression, value)
	}
	if !value.IsString() {
		b.printable(value)
	}
	var err error
	if r.Config.AutoEscape && value.IsString() && !value.Safe {
		_, err = io.WriteString(r.Output, value.Escaped())
	} else {
		_, err = io.WriteString(r.Output, value.String())
	}
	return err
}

// conversationSize is the number of bytes of text in a conversation: the
// step budget grows with it, so that long conversations render while the
// budget of a small one stays small.
func conversationSize(conv Conversation) int {
	n := len(conv.System)
	for _, m := range conv.Messages {
		n += len(m.Content) + len(m.Reasoning) + 64
		for _, c := range m.ToolCalls {
			n += len(c.Name) + len(c.Input) + len(c.ID)
		}
		if m.ToolResult != nil {
			n += len(m.ToolResult.Content) + len(m.ToolResult.Name) + len(m.ToolResult.ToolUseID)
		}
	}
	for _, t := range conv.Tools {
		n += len(t.Name) + len(t.Description) + len(t.InputSchema) + 64
	}
	return n
}
