package toolcall

import (
	"strings"

	"github.com/tetherllm/tether/llm"

	"github.com/tetherllm/tether/internal/trimstream"
)

// Stream parses tool calls out of output that arrives in pieces. Push
// each piece and, at the end, Flush; each returns the items that are now
// certain: text as it arrives (holding back only a possible partial
// opener, and white space that may turn out to be trailing) and each call
// once its block is complete, or at Flush for a last block left open. A
// block is held until it is known to be a call or not; text that follows
// a block that is not one waits until the block's end is known.
//
// All the text items of a stream, concatenated, equal the text [Parse]
// returns for the whole output, and its calls equal Parse's calls. A
// Stream is not safe for concurrent use.
type Stream struct {
	ids      seedIDs
	acc      strings.Builder // output received; acc[off:] is not decided yet
	off      int
	buf      string // acc[off:], without copying: a partial opener, or a block from its opener
	inBlock  bool
	form     form
	scan     objectScan
	searched int // how far a malformed block's end has been searched for
	out      []Item
	textOut  strings.Builder
	text     trimstream.Trimmer
}

// NewStream returns a streaming parser that numbers calls with ids.
func NewStream(ids *IDs) *Stream {
	p := &Stream{ids: seedIDs{ids: ids}}
	p.text.Out = &p.textOut
	return p
}

// Push consumes the next piece of output.
func (p *Stream) Push(s string) []Item {
	if p.off > 4096 && p.off > p.acc.Len()/2 {
		// Drop the decided output so that acc does not grow forever.
		rest := p.buf
		p.acc.Reset()
		p.acc.WriteString(rest)
		p.off = 0
	}
	p.acc.WriteString(s)
	p.buf = p.acc.String()[p.off:]
	p.advance(false)
	return p.take()
}

// consume marks the first n bytes of p.buf as decided.
func (p *Stream) consume(n int) {
	p.off += n
	p.buf = p.buf[n:]
}

// Flush ends the output: a block still open is decided as Parse decides
// it at the end of the text.
func (p *Stream) Flush() []Item {
	p.advance(true) // decides everything
	p.text.EndSegment()
	return p.take()
}

func (p *Stream) advance(final bool) {
	for {
		if !p.inBlock {
			o, f := nextOpener(p.buf)
			if o < 0 {
				keep := len(p.buf) - max(partialPrefix(p.buf, callOpen), partialPrefix(p.buf, fenceOpen))
				if final {
					keep = len(p.buf)
				}
				p.text.Write(p.buf[:keep])
				p.consume(keep)
				return
			}
			p.text.Write(p.buf[:o])
			p.consume(o)
			p.inBlock, p.form, p.scan, p.searched = true, f, objectScan{}, len(f.open)
		}
		end, call, decided := p.decide(final)
		if !decided {
			return
		}
		if call != nil {
			call.ID = p.ids.next()
			p.emitCall(call)
		} else {
			p.text.Write(p.buf[:end])
		}
		p.consume(end)
		p.inBlock = false
	}
}

// decide classifies the block at the start of p.buf, as parseBlock and
// malformedEnd do on the whole text, once more output cannot change the
// outcome.
func (p *Stream) decide(final bool) (end int, call *llm.ToolCall, decided bool) {
	body := len(p.form.open)
	switch p.scan.feed(p.buf[body:]) {
	case scanMore:
		if !final {
			return 0, nil, false
		}
	case scanDone:
		c, ok := callFrom([]byte(p.buf[body+p.scan.start : body+p.scan.end]))
		if !ok {
			break
		}
		valueEnd := body + p.scan.end
		j := skipSpace(p.buf, valueEnd)
		after := p.buf[j:]
		switch {
		case strings.HasPrefix(after, p.form.close):
			return j + len(p.form.close), &c, true
		case strings.HasPrefix(after, callOpen):
			return valueEnd, &c, true
		case after == "":
			if final {
				return valueEnd, &c, true
			}
			return 0, nil, false
		case !final && (strings.HasPrefix(p.form.close, after) || strings.HasPrefix(callOpen, after)):
			return 0, nil, false
		}
	}
	// Not a call: find where the block ends, searching only new output.
	from := max(body, p.searched-len(callClose))
	end, ok := malformedEnd(p.buf[from:], 0, p.form, final)
	p.searched = len(p.buf)
	if !ok {
		return 0, nil, false
	}
	return from + end, nil, true
}

func (p *Stream) emitCall(c *llm.ToolCall) {
	if p.textOut.Len() > 0 {
		p.out = append(p.out, Item{Text: p.textOut.String()})
		p.textOut.Reset()
	}
	p.out = append(p.out, Item{Call: c})
}

func (p *Stream) take() []Item {
	if p.textOut.Len() > 0 {
		p.out = append(p.out, Item{Text: p.textOut.String()})
		p.textOut.Reset()
	}
	out := p.out
	p.out = nil
	return out
}

// partialPrefix returns the length of the longest suffix of s that is a
// proper prefix of tag.
func partialPrefix(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if s[len(s)-n:] == tag[:n] {
			return n
		}
	}
	return 0
}
