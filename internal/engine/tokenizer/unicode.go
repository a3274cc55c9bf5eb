package tokenizer

import (
	"sync"
	"unicode"
)

// cptFlags classifies a code point the way llama.cpp's pre-tokenizers see it:
// one general category bit plus the White_Space property. The zero value
// means "outside the text being split", which the splitters use as a stop
// sentinel; every real code point has at least one bit set.
type cptFlags uint16

const (
	flagUndefined  cptFlags = 1 << iota // Cn and code points past U+10FFFF
	flagNumber                          // \p{N}
	flagLetter                          // \p{L}
	flagSeparator                       // \p{Z}
	flagMark                            // \p{M}
	flagPunct                           // \p{P}
	flagSymbol                          // \p{S}
	flagControl                         // \p{C} other than Cn
	flagWhitespace                      // \s (Unicode White_Space)
)

func (f cptFlags) isLetter() bool     { return f&flagLetter != 0 }
func (f cptFlags) isNumber() bool     { return f&flagNumber != 0 }
func (f cptFlags) isWhitespace() bool { return f&flagWhitespace != 0 }
func (f cptFlags) isMark() bool       { return f&flagMark != 0 }
func (f cptFlags) isPunct() bool      { return f&flagPunct != 0 }

// llama.cpp's category table was generated from Unicode 15.1 while Go's
// unicode package is at 15.0; these are the only code points whose category
// differs between the two (checked code point by code point against the table
// llama.cpp ships).
var unicode151Additions = []struct {
	lo, hi rune
	flags  cptFlags
}{
	{0x2FFC, 0x2FFF, flagSymbol},   // ideographic description characters
	{0x31EF, 0x31EF, flagSymbol},   // CJK stroke HXG
	{0x2EBF0, 0x2EE5D, flagLetter}, // CJK Unified Ideographs Extension I
}

func computeFlags(r rune) cptFlags {
	if r < 0 || r > unicode.MaxRune {
		return flagUndefined
	}
	var f cptFlags
	switch {
	case unicode.Is(unicode.L, r):
		f = flagLetter
	case unicode.Is(unicode.N, r):
		f = flagNumber
	case unicode.Is(unicode.Z, r):
		f = flagSeparator
	case unicode.Is(unicode.M, r):
		f = flagMark
	case unicode.Is(unicode.P, r):
		f = flagPunct
	case unicode.Is(unicode.S, r):
		f = flagSymbol
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
		f = flagControl
	default:
		f = flagUndefined
		for _, a := range unicode151Additions {
			if a.lo <= r && r <= a.hi {
				f = a.flags
				break
			}
		}
	}
	if unicode.Is(unicode.White_Space, r) {
		f |= flagWhitespace
	}
	return f
}

var (
	bmpFlagsOnce sync.Once
	bmpFlags     []cptFlags
)

// flagsOf returns the llama.cpp flags of r. The Basic Multilingual Plane is
// tabulated on first use (128 KiB); rarer planes are classified on the fly.
func flagsOf(r rune) cptFlags {
	if r >= 0 && r < 0x10000 {
		bmpFlagsOnce.Do(func() {
			t := make([]cptFlags, 0x10000)
			for c := range t {
				t[c] = computeFlags(rune(c))
			}
			bmpFlags = t
		})
		return bmpFlags[r]
	}
	return computeFlags(r)
}

// decodeCpts splits text into code points exactly as llama.cpp's
// unicode_cpts_from_utf8 does: it trusts the lead byte (no overlong or
// surrogate checks) and turns each byte it cannot decode into U+FFFD.
// Code points past U+10FFFF, which llama.cpp cannot re-encode and throws on,
// become U+FFFD as well.
func decodeCpts(dst []rune, s string) []rune {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			dst = append(dst, rune(c))
			i++
			continue
		}
		r, n := decodeLenient(s, i)
		if n == 0 {
			dst = append(dst, 0xFFFD)
			i++
			continue
		}
		if r > unicode.MaxRune {
			r = 0xFFFD
		}
		dst = append(dst, r)
		i += n
	}
	return dst
}

// decodeLenient decodes one multi-byte sequence at s[i]; n == 0 means invalid.
func decodeLenient(s string, i int) (r rune, n int) {
	c := s[i]
	cont := func(k int) bool { return i+k < len(s) && s[i+k]&0xC0 == 0x80 }
	switch {
	case c&0x40 == 0: // stray continuation byte
		return 0, 0
	case c&0x20 == 0:
		if !cont(1) {
			return 0, 0
		}
		return rune(c&0x1F)<<6 | rune(s[i+1]&0x3F), 2
	case c&0x10 == 0:
		if !cont(1) || !cont(2) {
			return 0, 0
		}
		return rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
	case c&0x08 == 0:
		if !cont(1) || !cont(2) || !cont(3) {
			return 0, 0
		}
		return rune(c&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F), 4
	}
	return 0, 0
}

// appendCpt encodes r as llama.cpp's unicode_cpt_to_utf8 does, which (unlike
// utf8.AppendRune) writes surrogate code points as three bytes.
func appendCpt(dst []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(dst, byte(r))
	case r < 0x800:
		return append(dst, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
	case r < 0x10000:
		return append(dst, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
	default:
		return append(dst, 0xF0|byte(r>>18), 0x80|byte(r>>12&0x3F), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
	}
}

// utf8SeqLen is llama.cpp's unicode_len_utf8: the sequence length a lead byte
// announces, 1 for ASCII and for stray continuation bytes.
func utf8SeqLen(c byte) int {
	switch c >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// GPT-2's reversible byte-to-unicode table: printable Latin-1 bytes stand for
// themselves, the other 68 bytes map to U+0100 onwards in byte order.
var (
	byteToRune [256]rune
	byteToText [256]string
	// runeToByte inverts byteToRune; the table's characters are all below U+0144.
	runeToByte [0x144]int16
)

func runeToByteTable(r rune) (byte, bool) {
	if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
		return 0, false
	}
	return byte(runeToByte[r]), true
}

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		printable := (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		r := rune(b)
		if !printable {
			r = 256 + n
			n++
		}
		byteToRune[b] = r
		byteToText[b] = string(r)
		runeToByte[r] = int16(b)
	}
}
