package chat

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/loaders"
)

// A chat template comes from a model file, which may be hostile. These
// are the limits the Jinja engine renders it under.

// maxRenderOutput bounds what one render may write; no real prompt comes
// near it, a runaway template does.
const maxRenderOutput = 32 << 20

// maxRange bounds range() so that a template cannot loop for ever.
const maxRange = 1 << 16

// limitedWriter collects output up to max bytes. Past that it stops the
// render (see exceed): gonja goes on looping after a failed write, and a
// runaway loop must stop at once.
type limitedWriter struct {
	b   strings.Builder
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		exceed("output size", w.max)
	}
	return w.b.Write(p)
}

func (w *limitedWriter) Len() int { return w.b.Len() }

// oneTemplateLoader serves the chat template itself and nothing else:
// include, import and extends must not read files on the machine.
type oneTemplateLoader struct {
	source string
	mu     sync.Mutex
	read   bool
}

func (l *oneTemplateLoader) Read(path string) (io.Reader, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if path != templateID || l.read {
		return nil, errors.New("chat templates cannot load other templates")
	}
	l.read = true
	return strings.NewReader(l.source), nil
}

func (l *oneTemplateLoader) Resolve(path string) (string, error) {
	if path != templateID {
		return "", errors.New("chat templates cannot load other templates")
	}
	return path, nil
}

func (l *oneTemplateLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// Limits on template text, far above what any model ships (the largest
// official templates are tens of kilobytes and nest a dozen deep) and far
// below what would take gonja's recursive parser past the Go stack.
const (
	maxTemplateSize = 1 << 20
	maxNesting      = 500
)

var (
	blockOpen  = regexp.MustCompile(`\{%-?\s*(if|for|macro|call|filter|block|with|raw|set\s+[\w.]+\s*-?%\})`)
	blockClose = regexp.MustCompile(`\{%-?\s*end(if|for|macro|call|filter|block|with|raw|set)\b`)
)

// checkNesting refuses templates too large or too deeply nested to parse
// safely. Brackets are counted everywhere, strings included, which only
// errs on the side of refusing.
func checkNesting(source string) error {
	if len(source) > maxTemplateSize {
		return &TemplateError{Family: FamilyJinja, Msg: fmt.Sprintf("template is %d bytes, more than the %d allowed", len(source), maxTemplateSize)}
	}
	depth, deepest := 0, 0
	for i := 0; i < len(source); i++ {
		switch source[i] {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth--
		}
	}
	opens := blockOpen.FindAllStringIndex(source, -1)
	closes := blockClose.FindAllStringIndex(source, -1)
	blocks, deepestBlock := 0, 0
	for len(opens) > 0 || len(closes) > 0 {
		if len(closes) == 0 || (len(opens) > 0 && opens[0][0] < closes[0][0]) {
			blocks++
			deepestBlock = max(deepestBlock, blocks)
			opens = opens[1:]
		} else {
			blocks--
			closes = closes[1:]
		}
	}
	if deepest > maxNesting || deepestBlock > maxNesting {
		return &TemplateError{Family: FamilyJinja, Msg: fmt.Sprintf("template nests more than %d deep", maxNesting)}
	}
	return nil
}
