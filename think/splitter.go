package think

import (
	"strings"

	"github.com/tetherllm/tether/internal/trimstream"
)

// Splitter does what [Split] does, on a stream: Push the output as it
// arrives, in chunks cut anywhere (even inside a tag or a UTF-8
// sequence), then Flush. It never emits a fragment of a tag, and it holds
// back only what it must: a possible partial tag, white space that may
// turn out to be trailing, and an incomplete UTF-8 sequence.
//
// The text and reasoning a Splitter emits, each concatenated, equal what
// Split (or [SplitOpen], for a Splitter started in reasoning) returns for
// the whole output, with one documented exception: a bare </think> before
// any <think> means the text seen so far was reasoning (see Split), but
// text already emitted cannot be recalled. If nothing but white space had
// been emitted yet, the Splitter still gets it right; otherwise the text
// before the tag stays text and the tag is dropped. Callers that keep the
// whole output should take the final answer from Split, and start the
// Splitter in reasoning when they know the template opens the block.
//
// A Splitter is not safe for concurrent use.
type Splitter struct {
	inReasoning bool
	sawTag      bool   // a tag has been seen (or the stream started in reasoning)
	pending     string // a possible partial tag
	textOut     strings.Builder
	reasonOut   strings.Builder
	text        trimstream.Trimmer
	reasoning   trimstream.Trimmer
}

// NewSplitter returns a Splitter. With startInReasoning the output is
// reasoning until the first </think>, as when the chat template opened the
// block in the prompt.
func NewSplitter(startInReasoning bool) *Splitter {
	s := &Splitter{inReasoning: startInReasoning, sawTag: startInReasoning}
	s.text.Out = &s.textOut
	s.reasoning.Out = &s.reasonOut
	s.reasoning.Separator = blockSeparator
	return s
}

// Push consumes the next chunk of output and returns the text and
// reasoning that are now certain.
func (s *Splitter) Push(chunk string) (text, reasoning string) {
	buf := s.pending + chunk
	s.pending = ""
	for buf != "" {
		if s.inReasoning {
			end := strings.Index(buf, closeTag)
			if end < 0 {
				keep := len(buf) - partialTag(buf, closeTag)
				s.reasoning.Write(buf[:keep])
				s.pending = buf[keep:]
				break
			}
			s.reasoning.Write(buf[:end])
			s.reasoning.EndSegment()
			buf = buf[end+len(closeTag):]
			s.inReasoning = false
			continue
		}
		o, c := strings.Index(buf, openTag), strings.Index(buf, closeTag)
		switch {
		case c >= 0 && (o < 0 || c < o):
			s.text.Write(buf[:c])
			if !s.sawTag {
				s.leadingCloser()
			}
			buf = buf[c+len(closeTag):]
			s.sawTag = true
		case o >= 0:
			s.text.Write(buf[:o])
			buf = buf[o+len(openTag):]
			s.inReasoning, s.sawTag = true, true
		default:
			keep := len(buf) - max(partialTag(buf, openTag), partialTag(buf, closeTag))
			s.text.Write(buf[:keep])
			s.pending = buf[keep:]
			buf = ""
		}
	}
	return s.take()
}

// leadingCloser handles a bare </think> before any <think>: what came
// before it was reasoning. Only what is still held can be moved there.
func (s *Splitter) leadingCloser() {
	if s.text.Started() {
		return // already emitted as text: the documented exception
	}
	held := s.text.TakePartial() // white space was dropped; this was not
	s.reasoning.Write(held)
	s.reasoning.EndSegment()
}

// Flush ends the stream and returns what was held back. An unclosed
// reasoning block ends here.
func (s *Splitter) Flush() (text, reasoning string) {
	if s.inReasoning {
		s.reasoning.Write(s.pending)
	} else {
		s.text.Write(s.pending)
	}
	s.pending = ""
	s.reasoning.EndSegment()
	s.text.EndSegment()
	return s.take()
}

func (s *Splitter) take() (text, reasoning string) {
	text, reasoning = s.textOut.String(), s.reasonOut.String()
	s.textOut.Reset()
	s.reasonOut.Reset()
	return text, reasoning
}

// partialTag returns the length of the longest suffix of s that is a
// proper prefix of tag.
func partialTag(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if s[len(s)-n:] == tag[:n] {
			return n
		}
	}
	return 0
}
