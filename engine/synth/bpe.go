package synth

import (
	"strings"
	"sync"
)

// byteToUnicode is GPT-2's map from bytes to the printable characters
// byte-level BPE vocabularies store them as: printable Latin-1 bytes stand
// for themselves, the others (space, control bytes, ...) for U+0100 on.
var byteToUnicode = func() [256]string {
	var m [256]string
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = string(rune(b))
		} else {
			m[b] = string(rune(256 + n))
			n++
		}
	}
	return m
}()

// byteLevel writes s in the byte-level alphabet.
func byteLevel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString(byteToUnicode[s[i]])
	}
	return b.String()
}

// maxMerges bounds the learnt merges; the corpus runs out of pairs seen
// twice before that.
const maxMerges = 2000

// learnt is the merge list, learnt once: it depends on the corpus only.
var learnt = sync.OnceValue(func() []string { return learnMerges(corpus, maxMerges) })

// learnMerges learns byte-level BPE merges from text: words as a
// GPT-2-style pre-tokenizer cuts them, then, repeatedly, the most frequent
// adjacent pair (ties to the smallest pair) is merged, until no pair occurs
// twice or max merges are learnt. Each merge is "left right" in the
// byte-level alphabet.
func learnMerges(text string, max int) []string {
	counts := map[string]int{}
	for _, w := range preSplit(text) {
		counts[w]++
	}
	type word struct {
		syms []string
		n    int
	}
	words := make([]word, 0, len(counts))
	for w, n := range counts {
		syms := make([]string, len(w))
		for i := 0; i < len(w); i++ {
			syms[i] = byteToUnicode[w[i]]
		}
		words = append(words, word{syms, n})
	}
	var merges []string
	for len(merges) < max {
		pairs := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]string{w.syms[i], w.syms[i+1]}] += w.n
			}
		}
		var best [2]string
		bestN := 1
		for p, n := range pairs {
			if n > bestN || (n == bestN && n > 1 && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merges = append(merges, best[0]+" "+best[1])
		joined := best[0] + best[1]
		for wi := range words {
			syms := words[wi].syms
			out := syms[:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
					out = append(out, joined)
					i++
					continue
				}
				out = append(out, syms[i])
			}
			words[wi].syms = out
		}
	}
	return merges
}

// preSplit cuts ASCII text roughly as the qwen2 pre-tokenizer does:
// contractions, an optional non-letter followed by letters, single
// digits, punctuation runs with an optional leading space, newline runs,
// and other whitespace. It only decides which merges are learnt, so it
// need not match llama.cpp exactly.
func preSplit(s string) []string {
	isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		start := i
		switch {
		case c == '\'' && i+1 < len(s) && strings.ContainsRune("stmd", rune(s[i+1])|0x20):
			i += 2
		case c == '\'' && i+2 < len(s) && (strings.HasPrefix(strings.ToLower(s[i+1:i+3]), "re") ||
			strings.HasPrefix(strings.ToLower(s[i+1:i+3]), "ve") || strings.HasPrefix(strings.ToLower(s[i+1:i+3]), "ll")):
			i += 3
		case isLetter(c) || (!isDigit(c) && c != '\n' && c != '\r' && i+1 < len(s) && isLetter(s[i+1])):
			i++
			for i < len(s) && isLetter(s[i]) {
				i++
			}
		case isDigit(c):
			i++
		case c == '\n' || c == '\r' || (isSpace(c) && nextNewline(s, i)):
			for i < len(s) && isSpace(s[i]) && (s[i] == '\n' || s[i] == '\r' || nextNewline(s, i)) {
				i++
			}
		case isSpace(c):
			for i < len(s) && isSpace(s[i]) && s[i] != '\n' {
				i++
			}
			// A space run before a word gives its last space to the word.
			if i < len(s) && i-start > 1 && s[i-1] == ' ' && !isSpace(s[i]) {
				i--
			}
		default:
			if c == ' ' {
				i++
			}
			for i < len(s) && !isSpace(s[i]) && !isLetter(s[i]) && !isDigit(s[i]) {
				i++
			}
			for i < len(s) && (s[i] == '\n' || s[i] == '\r') {
				i++
			}
			if i == start {
				i++
			}
		}
		out = append(out, s[start:i])
	}
	return out
}

// nextNewline reports whether the whitespace run from i reaches a newline.
func nextNewline(s string, i int) bool {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\n', '\r':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return false
}
