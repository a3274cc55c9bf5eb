package tokenizer

import "strings"

// Tokenizer turns text into token ids and back. It is immutable after New
// and safe for concurrent use.
type Tokenizer struct {
	kind    modelKind
	model   string
	preName string
	pre     *preTokenizer

	tokens    []tokenData
	tokenToID map[string]int32
	bpe       bpeTables
	words     *wordCache

	bos, eos, eot, eom, unk, sep, pad, mask        int32
	fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep int32

	addBOS, addEOS, addSpacePrefix bool
	cleanSpaces                    bool

	// bytesPerToken bounds how many bytes of raw text one token can
	// stand for (the longest token text; GPT-2's byte mapping and
	// SentencePiece's U+2581 only lengthen text). 0 when some byte can
	// vanish from the output (no token for it), which breaks the bound.
	bytesPerToken int

	eog        map[int32]bool
	specials   []int32 // control, user-defined and unknown tokens, longest text first
	pieces     []string
	byteTokens [256]int32

	warnings []string
}

func (t *Tokenizer) warn(msg string) { t.warnings = append(t.warnings, msg) }

// Encode tokenizes text. addSpecial adds BOS and EOS where the vocabulary
// asks for them (tokenizer.ggml.add_bos_token / add_eos_token). parseSpecial
// lets control tokens written in the text (such as "<|im_start|>") become
// their ids; user-defined tokens are always matched, as in llama.cpp.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	ids, _ := t.EncodeLimit(text, addSpecial, parseSpecial, -1)
	return ids
}

// EncodeLimit is Encode that gives up once the text surely has more than
// limit tokens (limit < 0: no limit). complete is false when it gave up;
// ids then holds the tokens found so far, which may be fewer than limit
// when a piece of text was refused unread because it is longer than
// limit tokens could cover (see [Tokenizer.MaxTokenBytes]). Its memory
// stays proportional to limit, not to the text, where that bound holds.
func (t *Tokenizer) EncodeLimit(text string, addSpecial, parseSpecial bool, limit int) (ids []int32, complete bool) {
	s := scratchPool.Get().(*encodeScratch)
	defer s.release()
	s.limit = limit
	n := len(text)/3 + 2
	if limit >= 0 {
		n = min(n, limit+2)
	}
	out := make([]int32, 0, n)
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	prevSpecial := true
	for _, f := range t.partition(text, parseSpecial) {
		if s.over(out) {
			return out, false
		}
		if f.token != NoToken {
			out = append(out, f.token)
			prevSpecial = true
			continue
		}
		raw := text[f.start:f.end]
		if !t.fits(s, raw, out) {
			return out, false
		}
		switch t.kind {
		case modelBPE:
			out = t.encodeBPE(s, raw, out)
		case modelSPM:
			out = t.encodeSPM(s, raw, t.addSpacePrefix && prevSpecial, out)
		}
		prevSpecial = false
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out, !s.over(out)
}

// MaxTokenBytes is the most bytes of text one token can stand for, or 0
// when the vocabulary lets some bytes vanish (no token encodes them), so
// that no such bound holds. A text of n bytes without special tokens
// has at least n/MaxTokenBytes tokens.
func (t *Tokenizer) MaxTokenBytes() int { return t.bytesPerToken }

// fits reports whether raw text could still be within the limit: a piece
// of n bytes has at least ceil(n/bytesPerToken) tokens, so a longer piece
// than the tokens left can cover is refused before any work on it.
func (t *Tokenizer) fits(s *encodeScratch, raw string, out []int32) bool {
	if s.limit < 0 || t.bytesPerToken == 0 {
		return true
	}
	left := int64(s.limit - len(out))
	return int64(len(raw)) <= left*int64(t.bytesPerToken)
}

// fragment is either a special token (token != NoToken) or a range of raw text.
type fragment struct {
	token      int32
	start, end int
}

// isCSpace is C's isspace in the "C" locale, which llama.cpp uses to strip
// text next to tokens with the lstrip/rstrip attributes.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// partition splits text around special tokens the way llama.cpp does: each
// special token, longest first, is searched for left to right in every piece
// of raw text still unclaimed.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{token: NoToken, start: 0, end: len(text)}}
	var next []fragment
	for _, id := range t.specials {
		d := &t.tokens[id]
		if !parseSpecial && d.attr&(AttrControl|AttrUnknown) != 0 {
			continue
		}
		if !strings.Contains(text, d.text) {
			continue
		}
		next = next[:0]
		for _, f := range frags {
			if f.token != NoToken {
				next = append(next, f)
				continue
			}
			pos, end := f.start, f.end
			for pos < end {
				idx := strings.Index(text[pos:end], d.text)
				if idx < 0 {
					next = append(next, fragment{token: NoToken, start: pos, end: end})
					break
				}
				m := pos + idx
				leftEnd := m
				if d.attr&AttrLStrip != 0 {
					for leftEnd > pos && isCSpace(text[leftEnd-1]) {
						leftEnd--
					}
				}
				if leftEnd > pos {
					next = append(next, fragment{token: NoToken, start: pos, end: leftEnd})
				}
				next = append(next, fragment{token: id})
				pos = m + len(d.text)
				if d.attr&AttrRStrip != 0 {
					for pos < end && isCSpace(text[pos]) {
						pos++
					}
				}
			}
		}
		frags, next = next, frags
	}
	return frags
}

// NumTokens is the vocabulary size.
func (t *Tokenizer) NumTokens() int { return len(t.tokens) }

// Model is tokenizer.ggml.model ("gpt2" or "llama").
func (t *Tokenizer) Model() string { return t.model }

// Pre is tokenizer.ggml.pre as given ("" when absent; always "" for llama).
func (t *Tokenizer) Pre() string { return t.preName }

// TokenText is the stored text of a token ("" for an id outside the vocabulary).
func (t *Tokenizer) TokenText(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id].text
}

// TokenAttr is the token's attributes after llama.cpp's adjustments.
func (t *Tokenizer) TokenAttr(id int32) Attr {
	if !t.valid(id) {
		return AttrUndefined
	}
	return t.tokens[id].attr
}

// IsControl reports whether id is a control token (never rendered unless asked).
func (t *Tokenizer) IsControl(id int32) bool { return t.TokenAttr(id)&AttrControl != 0 }

// Lookup finds the token whose text is exactly text, such as "<|im_end|>".
func (t *Tokenizer) Lookup(text string) (int32, bool) {
	id, ok := t.tokenToID[text]
	return id, ok
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }

// Special token ids; NoToken when the vocabulary has none.
func (t *Tokenizer) BOS() int32 { return t.bos }
func (t *Tokenizer) EOS() int32 { return t.eos }
func (t *Tokenizer) EOT() int32 { return t.eot }
func (t *Tokenizer) EOM() int32 { return t.eom }
func (t *Tokenizer) UNK() int32 { return t.unk }
func (t *Tokenizer) SEP() int32 { return t.sep }
func (t *Tokenizer) PAD() int32 { return t.pad }

// AddBOS and AddEOS report whether Encode with addSpecial adds BOS / EOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether generating id ends generation (EOS, EOT, EOM, the
// FIM pad/repo/file-separator tokens, and tokens such as <|im_end|>,
// <|eot_id|> or <end_of_turn> recognised by their text, as llama.cpp does).
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOGTokens lists the end-of-generation ids in ascending order.
func (t *Tokenizer) EOGTokens() []int32 {
	ids := make([]int32, 0, len(t.eog))
	for id := range t.tokens {
		if t.eog[int32(id)] {
			ids = append(ids, int32(id))
		}
	}
	return ids
}

// Warnings lists what New tolerated in the vocabulary, in llama.cpp's spirit
// (out-of-range special ids, empty token texts, a missing pre-tokenizer).
func (t *Tokenizer) Warnings() []string { return append([]string(nil), t.warnings...) }
