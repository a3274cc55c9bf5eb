package tokenizer

import (
	"fmt"
	"strings"
)

// A pre-tokenizer cuts a text fragment into words before BPE runs on each
// word. llama.cpp applies a list of stages per tokenizer.ggml.pre value; each
// stage refines every piece produced by the previous one and keeps both the
// matches and the gaps between them as pieces. Four stage shapes cover the
// pre-tokenizers supported here: llama.cpp's hand-written GPT-2 and
// llama3/qwen2 state machines (reproduced decision for decision, since they
// are what llama.cpp actually runs, not the regexes they stand for), a
// newline splitter, and "optional prefix + character class" patterns that
// llama.cpp hands to std::regex.

// span is a half-open range of code point indexes.
type span struct{ start, end int }

// cptText is one fragment decoded into code points with their flags.
type cptText struct {
	cpts  []rune
	flags []cptFlags
}

type stage interface {
	split(t *cptText, in, out []span) []span
}

// preTokenizer is the resolved behaviour of one tokenizer.ggml.pre value.
type preTokenizer struct {
	name         string
	stages       []stage
	cleanSpaces  bool // llama.cpp's clean_spaces (clean_up_tokenization_spaces)
	ignoreMerges bool // a word that is already a token skips BPE
	addBOS       bool // default add_bos when the GGUF does not say
	noDefaultBOS bool // the BPE default BOS id (11) does not apply
}

var (
	gpt2Stage    = gpt2Splitter{}
	llama3Stage  = llamaSplitter{maxDigits: 3}
	qwen2Stage   = llamaSplitter{maxDigits: 1}
	qwen35Stage  = llamaSplitter{maxDigits: 1, marks: true}
	newlineStage = newlineSplitter{}
)

func isASCIIDigit(r rune, _ cptFlags) bool { return r >= '0' && r <= '9' }
func isNumberCpt(_ rune, f cptFlags) bool  { return f.isNumber() }
func isLetterCpt(_ rune, f cptFlags) bool  { return f.isLetter() }
func isPunctCpt(_ rune, f cptFlags) bool   { return f.isPunct() }
func isSpaceCpt(_ rune, f cptFlags) bool   { return f.isWhitespace() }
func isCRLF(r rune, _ cptFlags) bool       { return r == '\r' || r == '\n' }

// punctOr builds the class [\p{P}<extra>] as llama.cpp's collapsed std::regex
// sees it: Unicode punctuation plus the listed ASCII characters.
func punctOr(extra string) func(rune, cptFlags) bool {
	return func(r rune, f cptFlags) bool {
		return f.isPunct() || (r < 0x80 && strings.ContainsRune(extra, r))
	}
}

// deepseekCJK is [一-龥ࠀ-一가-퟿]; llama.cpp runs it on text where non-ASCII
// white space was replaced by U+000B, so U+3000 never matches.
func deepseekCJK(r rune, f cptFlags) bool {
	if f.isWhitespace() {
		return false
	}
	return (r >= 0x4E00 && r <= 0x9FA5) || (r >= 0x0800 && r <= 0x4E00) || (r >= 0xAC00 && r <= 0xD7FF)
}

func newPreTokenizer(pre string) (*preTokenizer, error) {
	p := &preTokenizer{name: pre, cleanSpaces: true}
	switch pre {
	case "", "default":
		p.stages = []stage{
			classRun{body: punctOr(`$+<=>^~|`)},
			gpt2Stage,
			classRun{body: isNumberCpt},
			classRun{body: isASCIIDigit, exactly: 3},
		}
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		p.stages = []stage{llama3Stage}
		p.ignoreMerges = true
		p.addBOS = true
	case "dbrx", "smaug-bpe":
		p.stages = []stage{llama3Stage}
	case "glm4", "chatglm-bpe":
		p.stages = []stage{llama3Stage}
		p.noDefaultBOS = true
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open":
		p.stages = []stage{qwen2Stage}
		p.cleanSpaces = false
	case "megrez", "stablelm2":
		p.stages = []stage{qwen2Stage}
	case "qwen35":
		p.stages = []stage{qwen35Stage}
		p.cleanSpaces = false
	case "laguna":
		p.stages = []stage{newlineStage, qwen2Stage}
		p.cleanSpaces = false
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
		"modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4":
		p.stages = []stage{gpt2Stage}
	case "trillion", "granite-docling":
		p.stages = []stage{gpt2Stage}
		p.cleanSpaces = false
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
		p.stages = []stage{classRun{body: isNumberCpt, exactly: 1}, gpt2Stage}
	case "command-r", "smollm":
		p.stages = []stage{classRun{body: isNumberCpt, exactly: 1}, gpt2Stage}
		p.cleanSpaces = false
	case "falcon":
		p.stages = []stage{
			classRun{body: punctOr("$+<=>^~|`")},
			gpt2Stage,
			classRun{body: isASCIIDigit, exactly: 3},
		}
	case "deepseek-coder":
		p.stages = []stage{
			classRun{body: isCRLF, exactly: 1},
			classRun{prefix: isSpaceCpt, body: isLetterCpt},
			classRun{prefix: isSpaceCpt, body: isPunctCpt},
			classRun{body: deepseekCJK},
			classRun{body: isNumberCpt, exactly: 1},
		}
		p.cleanSpaces = false
	default:
		if knownUnsupportedPre[pre] {
			return nil, fmt.Errorf("tokenizer: pre-tokenizer %q is not supported yet", pre)
		}
		return nil, fmt.Errorf("tokenizer: unknown pre-tokenizer type %q", pre)
	}
	return p, nil
}

// knownUnsupportedPre lists tokenizer.ggml.pre values llama.cpp accepts but
// this package does not implement, so the error can say which case applies.
var knownUnsupportedPre = map[string]bool{
	"minicpm5": true, "deepseek-llm": true, "deepseek-v3": true, "youtu": true, "jais-2": true,
	"gemma4": true, "granite-embed-multi-311m": true, "sarvam-moe": true, "whitespace": true,
	"poro-chat": true, "viking": true, "tekken": true, "bloom": true, "gpt3-finnish": true,
	"exaone-moe": true, "chameleon": true, "gpt-4o": true, "llama4": true, "kanana2": true,
	"talkie": true, "granite-embed-multi-97m": true, "tiny_aya": true, "cohere2moe": true,
	"superbpe": true, "bailingmoe": true, "bailingmoe2": true, "llada-moe": true, "seed-coder": true,
	"hunyuan-dense": true, "joyai-llm": true, "kimi-k2": true, "grok-2": true, "afmoe": true,
	"minimax-m2": true,
}

// split runs every stage over the fragment and returns the word spans. The
// two buffers are reused between calls; the result aliases bufs[0].
func (p *preTokenizer) split(t *cptText, bufs *[2][]span) []span {
	a := append(bufs[0][:0], span{0, len(t.cpts)})
	b := bufs[1][:0]
	for _, s := range p.stages {
		b = s.split(t, a, b[:0])
		a, b = b, a
	}
	bufs[0], bufs[1] = a, b
	return a
}

// cursor gives the llama.cpp splitters their view of one piece: positions
// outside the piece read as code point -1 with no flags.
type cursor struct {
	t        *cptText
	ini, end int
}

func (c cursor) cpt(pos int) rune {
	if pos >= c.ini && pos < c.end {
		return c.t.cpts[pos]
	}
	return -1
}

func (c cursor) flags(pos int) cptFlags {
	if pos >= c.ini && pos < c.end {
		return c.t.flags[pos]
	}
	return 0
}

func asciiLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// contraction reports the length of 's|'t|'re|'ve|'m|'ll|'d at pos (0 if
// none), comparing case-insensitively when fold is set.
func (c cursor) contraction(pos int, fold bool) int {
	if c.cpt(pos) != '\'' || pos+1 >= c.end {
		return 0
	}
	next := c.cpt(pos + 1)
	if fold {
		next = asciiLower(next)
	}
	switch next {
	case 's', 't', 'm', 'd':
		return 2
	}
	if pos+2 < c.end {
		nn := c.cpt(pos + 2)
		if fold {
			nn = asciiLower(nn)
		}
		if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
			return 3
		}
	}
	return 0
}

// whitespaceRun counts the white space starting at pos and reports the end
// of its last \r or \n (0 when it has none).
func (c cursor) whitespaceRun(pos int) (n, lastCRLFEnd int) {
	for c.flags(pos + n).isWhitespace() {
		if r := c.cpt(pos + n); r == '\r' || r == '\n' {
			lastCRLFEnd = pos + n + 1
		}
		n++
	}
	return n, lastCRLFEnd
}

// gpt2Splitter is llama.cpp's hand-written form of
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
type gpt2Splitter struct{}

func (gpt2Splitter) split(t *cptText, in, out []span) []span {
	for _, piece := range in {
		c := cursor{t, piece.start, piece.end}
		prev := piece.start
		emit := func(end int) {
			if end > prev {
				out = append(out, span{prev, end})
			}
			prev = end
		}
		for pos := piece.start; pos < piece.end; {
			r := c.cpt(pos)
			f := c.flags(pos)
			if n := c.contraction(pos, false); n > 0 {
				pos += n
				emit(pos)
				continue
			}
			f2 := f
			if r == ' ' {
				f2 = c.flags(pos + 1)
			}
			switch {
			case f2.isLetter():
				if r == ' ' {
					pos++
				}
				for c.flags(pos).isLetter() {
					pos++
				}
				emit(pos)
				continue
			case f2.isNumber():
				if r == ' ' {
					pos++
				}
				for c.flags(pos).isNumber() {
					pos++
				}
				emit(pos)
				continue
			case f2 != 0 && f2&(flagWhitespace|flagLetter|flagNumber) == 0:
				if r == ' ' {
					pos++
				}
				for g := c.flags(pos); g != 0 && g&(flagWhitespace|flagLetter|flagNumber) == 0; g = c.flags(pos) {
					pos++
				}
				emit(pos)
				continue
			}
			n, _ := c.whitespaceRun(pos)
			switch {
			case n > 1 && c.cpt(pos+n) != -1: // \s+(?!\S): leave the last space to the next word
				pos += n - 1
			case n > 0:
				pos += n
			default:
				pos++
			}
			emit(pos)
		}
	}
	return out
}

// llamaSplitter is llama.cpp's hand-written form of the llama3 pattern
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// and of qwen2's (\p{N} one digit at a time) and qwen35's (letters runs
// also take combining marks, \p{M}).
type llamaSplitter struct {
	maxDigits int
	marks     bool
}

func (s llamaSplitter) split(t *cptText, in, out []span) []span {
	word := flagLetter
	if s.marks {
		word |= flagMark
	}
	for _, piece := range in {
		c := cursor{t, piece.start, piece.end}
		prev := piece.start
		emit := func(end int) {
			if end > prev {
				out = append(out, span{prev, end})
			}
			prev = end
		}
		for pos := piece.start; pos < piece.end; {
			r := c.cpt(pos)
			f := c.flags(pos)
			if n := c.contraction(pos, true); n > 0 {
				pos += n
				emit(pos)
				continue
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if r != '\r' && r != '\n' && !f.isNumber() {
				if f&word != 0 || c.flags(pos+1)&word != 0 {
					pos++
					for c.flags(pos)&word != 0 {
						pos++
					}
					emit(pos)
					continue
				}
			}
			// \p{N}{1,maxDigits}
			if f.isNumber() {
				ini := pos
				for c.flags(pos).isNumber() {
					pos++
					if pos-ini >= s.maxDigits {
						emit(pos)
						ini = pos
					}
				}
				emit(pos)
				continue
			}
			// ' ?[^\s\p{L}\p{N}]+[\r\n]*'; like llama.cpp, the guard tests the
			// flags of pos itself, which are never empty inside the piece.
			f2 := f
			if r == ' ' {
				f2 = c.flags(pos + 1)
			}
			stop := flagWhitespace | word | flagNumber
			if f2&stop == 0 && f != 0 {
				if r == ' ' {
					pos++
				}
				for g := c.flags(pos); g != 0 && g&stop == 0; g = c.flags(pos) {
					pos++
				}
				for r2 := c.cpt(pos); r2 == '\r' || r2 == '\n'; r2 = c.cpt(pos) {
					pos++
				}
				emit(pos)
				continue
			}
			n, lastCRLF := c.whitespaceRun(pos)
			switch {
			case lastCRLF > 0: // \s*[\r\n]+
				pos = lastCRLF
			case n > 1 && c.cpt(pos+n) != -1: // \s+(?!\S)
				pos += n - 1
			case n > 0:
				pos += n
			default:
				pos++
			}
			emit(pos)
		}
	}
	return out
}

// newlineSplitter is [^\n]+|[\n]+: runs of newlines and runs of the rest.
type newlineSplitter struct{}

func (newlineSplitter) split(t *cptText, in, out []span) []span {
	for _, piece := range in {
		for pos := piece.start; pos < piece.end; {
			nl := t.cpts[pos] == '\n'
			start := pos
			for pos < piece.end && (t.cpts[pos] == '\n') == nl {
				pos++
			}
			out = append(out, span{start, pos})
		}
	}
	return out
}

// classRun reproduces std::regex's leftmost-first search for the patterns
// prefix?body+ (exactly == 0) and body{exactly} used by llama.cpp's
// regex-driven pre-tokenizers, keeping the gaps between matches as pieces.
type classRun struct {
	prefix  func(rune, cptFlags) bool // optional one-character prefix, may be nil
	body    func(rune, cptFlags) bool
	exactly int
}

func (cr classRun) in(t *cptText, fn func(rune, cptFlags) bool, pos, end int) bool {
	return pos < end && fn(t.cpts[pos], t.flags[pos])
}

func (cr classRun) matchAt(t *cptText, pos, end int) (int, bool) {
	if cr.exactly > 0 {
		for k := 0; k < cr.exactly; k++ {
			if !cr.in(t, cr.body, pos+k, end) {
				return 0, false
			}
		}
		return pos + cr.exactly, true
	}
	start := pos
	if cr.prefix != nil && cr.in(t, cr.prefix, pos, end) && cr.in(t, cr.body, pos+1, end) {
		start = pos + 1
	} else if !cr.in(t, cr.body, pos, end) {
		return 0, false
	}
	e := start + 1
	for cr.in(t, cr.body, e, end) {
		e++
	}
	return e, true
}

func (cr classRun) split(t *cptText, in, out []span) []span {
	for _, piece := range in {
		last := piece.start
		for pos := piece.start; pos < piece.end; {
			e, ok := cr.matchAt(t, pos, piece.end)
			if !ok {
				pos++
				continue
			}
			if pos > last {
				out = append(out, span{last, pos})
			}
			out = append(out, span{pos, e})
			last, pos = e, e
		}
		if last < piece.end {
			out = append(out, span{last, piece.end})
		}
	}
	return out
}
