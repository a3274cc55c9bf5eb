package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// renderPiece is llama.cpp's token_to_piece with special rendering on, the
// form it caches for every token.
func (t *Tokenizer) renderPiece(id int32) string {
	d := &t.tokens[id]
	switch {
	case d.attr&(AttrUnknown|AttrControl|AttrUserDefined) != 0:
		return d.text
	case d.attr&AttrNormal != 0:
		if t.kind == modelSPM {
			return strings.ReplaceAll(d.text, spmSpace, " ")
		}
		return decodeByteLevel(d.text)
	case d.attr&AttrByte != 0:
		return string([]byte{byteTokenValue(d.text)})
	}
	return "" // unused and undefined tokens render as nothing
}

// decodeByteLevel maps GPT-2 byte-level text back to bytes. A character
// outside the table is spelled out the way llama.cpp does it.
func decodeByteLevel(text string) string {
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= 0x80 {
			if r, n = decodeLenient(text, i); n == 0 {
				r, n = 0xFFFD, 1
			} else if r > unicode.MaxRune {
				r = 0xFFFD
			}
		}
		i += n
		if r < 0x144 {
			if c, ok := runeToByteTable(r); ok {
				out = append(out, c)
				continue
			}
		}
		out = append(out, "[UNK_BYTE_0x"...)
		for _, c := range appendCpt(nil, r) {
			out = fmt.Appendf(out, "%02x", c)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return string(out)
}

// byteTokenValue reads the XX of a "<0xXX>" byte token like C's strtol on
// those two characters: a malformed number yields its valid hex prefix or 0.
func byteTokenValue(text string) byte {
	if len(text) < 4 {
		return 0
	}
	hex := text[3:min(len(text), 5)]
	hex = strings.TrimLeft(hex, " \t\n\v\f\r")
	neg := false
	if hex != "" && (hex[0] == '+' || hex[0] == '-') {
		neg = hex[0] == '-'
		hex = hex[1:]
	}
	v := 0
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'f':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int(c-'A') + 10
		default:
			i = len(hex)
			continue
		}
		v = v*16 + d
	}
	if neg {
		v = -v
	}
	return byte(v)
}

// Piece is the text of one token as llama.cpp's token_to_piece gives it
// (possibly a partial UTF-8 sequence). Control and unknown tokens render as
// "" unless special is set; user-defined tokens always render.
func (t *Tokenizer) Piece(id int32, special bool) string {
	if !t.valid(id) {
		return ""
	}
	if !special && t.tokens[id].attr&(AttrUnknown|AttrControl) != 0 {
		return ""
	}
	return t.pieces[id]
}

// DecodeOptions are llama_detokenize's switches.
type DecodeOptions struct {
	// Special renders control and unknown tokens as their text
	// (llama.cpp's unparse_special).
	Special bool
	// RemoveSpecial drops a leading BOS and a trailing EOS where the
	// vocabulary adds them (llama.cpp's remove_special).
	RemoveSpecial bool
}

// Decode turns ids back into text exactly as llama.cpp's llama_detokenize
// with remove_special and unparse_special off: SentencePiece drops the
// leading space of the first piece, and vocabularies with
// clean_up_tokenization_spaces (llama3, gpt2 and default pre-tokenizers, not
// qwen2) get llama.cpp's space clean-up. Ids outside the vocabulary render
// as nothing. For streaming generated text use StreamDecoder, which, like
// llama-server, concatenates pieces without either adjustment.
func (t *Tokenizer) Decode(ids []int32) string { return t.DecodeWith(ids, DecodeOptions{}) }

// DecodeWith is Decode with llama_detokenize's options.
func (t *Tokenizer) DecodeWith(ids []int32, o DecodeOptions) string {
	removeSpace := t.addSpacePrefix
	if o.RemoveSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if o.RemoveSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var buf []byte
	for _, id := range ids {
		p := t.Piece(id, o.Special)
		if removeSpace && strings.HasPrefix(p, " ") {
			p = p[1:]
		}
		removeSpace = false
		buf = append(buf, p...)
	}
	if t.cleanSpaces {
		buf = cleanTokenizationSpaces(buf)
	}
	return string(buf)
}

// cleanTokenizationSpaces is llama.cpp's three in-place passes: drop the
// space before ?!., ; drop the spaces around a lone apostrophe; drop the
// space before 's 'm 're 've. The passes read bytes they have already
// rewritten, so they are reproduced in place, byte for byte.
func cleanTokenizationSpaces(text []byte) []byte {
	total := len(text)

	n := total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			total--
		}
		text[total] = x
		total++
	}

	n = total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if x == '\'' && i+1 < n && text[i-1] == ' ' && text[i+1] == ' ' {
			total--
			i++
			text[i] = 0
		}
		text[total] = x
		total++
	}

	n = total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < n {
			x1 := text[i+1]
			switch {
			case x1 == 's' || x1 == 'm':
				total--
			case x1 == 't' || x1 == 'd':
			case i+2 < n:
				x2 := text[i+2]
				if (x1 == 'r' || x1 == 'v') && x2 == 'e' {
					total--
				}
			}
		}
		text[total] = x
		total++
	}
	return text[:total]
}

// StreamDecoder turns ids into text one token at a time, as llama-server
// streams it: pieces are concatenated and a multi-byte character split
// across tokens is held back until it is complete. Everything it returns is
// valid UTF-8; bytes that can never form a character come out as U+FFFD.
// A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	special bool
	pending []byte
}

// NewStreamDecoder starts a stream; special renders control tokens.
func (t *Tokenizer) NewStreamDecoder(special bool) *StreamDecoder {
	return &StreamDecoder{t: t, special: special}
}

// Add appends one token and returns the text that became complete.
func (d *StreamDecoder) Add(id int32) string {
	return string(d.AppendAdd(nil, id))
}

// AppendAdd is Add appending the completed text to dst, for callers that
// reuse a buffer: it allocates only when dst must grow.
func (d *StreamDecoder) AppendAdd(dst []byte, id int32) []byte {
	d.pending = append(d.pending, d.t.Piece(id, d.special)...)
	cut := len(d.pending) - incompleteTail(d.pending)
	dst = appendValidUTF8(dst, d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return dst
}

// Flush returns whatever is held back, ending the stream's pending character.
func (d *StreamDecoder) Flush() string {
	out := validUTF8(d.pending)
	d.pending = d.pending[:0]
	return out
}

// incompleteTail is the length of a trailing prefix of a multi-byte UTF-8
// sequence that later bytes could still complete.
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c&0xC0 == 0x80 {
			continue // continuation byte: keep looking for the lead
		}
		if need := utf8SeqLen(c); need > k && c >= 0xC2 && c <= 0xF4 {
			if utf8.FullRune(b[len(b)-k:]) {
				return 0 // an invalid sequence, not an incomplete one
			}
			return k
		}
		return 0
	}
	return 0
}

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendValidUTF8(nil, b))
}

// appendValidUTF8 appends b to dst with each invalid byte replaced by
// U+FFFD.
func appendValidUTF8(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return append(dst, b...)
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[:n]...)
		}
		b = b[n:]
	}
	return dst
}
