package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2/v2"
)

// splitWords runs the named pre-tokenizer on text and returns the words.
func splitWords(t testing.TB, pre, text string) []string {
	t.Helper()
	p, err := newPreTokenizer(pre)
	if err != nil {
		t.Fatalf("newPreTokenizer(%q): %v", pre, err)
	}
	cpts := decodeCpts(nil, text)
	ct := cptText{cpts: cpts}
	for _, r := range cpts {
		ct.flags = append(ct.flags, flagsOf(r))
	}
	var bufs [2][]span
	var words []string
	for _, w := range p.split(&ct, &bufs) {
		words = append(words, string(cpts[w.start:w.end]))
	}
	return words
}

func TestPreTokenizerSplits(t *testing.T) {
	const classic = "Hello  world's 12345\n\n  ok"
	tests := []struct {
		name, pre, text string
		want            []string
	}{
		{"llama3 classic", "llama-bpe", classic,
			[]string{"Hello", " ", " world", "'s", " ", "123", "45", "\n\n", " ", " ok"}},
		{"qwen2 classic", "qwen2", classic,
			[]string{"Hello", " ", " world", "'s", " ", "1", "2", "3", "4", "5", "\n\n", " ", " ok"}},
		{"gpt2 classic", "gpt-2", classic,
			[]string{"Hello", " ", " world", "'s", " 12345", "\n\n ", " ok"}},
		{"default classic", "", classic,
			[]string{"Hello", " ", " world", "'", "s", " ", "123", "45", "\n\n ", " ok"}},
		{"starcoder classic", "starcoder", classic,
			[]string{"Hello", " ", " world", "'s", " ", "1", "2", "3", "4", "5", "\n\n ", " ok"}},
		{"falcon classic", "falcon", classic,
			[]string{"Hello", " ", " world", "'", "s", " ", "123", "45", "\n\n ", " ok"}},

		{"llama3 contractions fold case", "llama3", "I'M don'T we'Ve you'LL",
			[]string{"I", "'M", " don", "'T", " we", "'Ve", " you", "'LL"}},
		{"gpt2 contractions are case sensitive", "gpt-2", "I'M don't",
			[]string{"I", "'", "M", " don", "'t"}},
		{"llama3 digits in threes", "llama3", "1234567 89",
			[]string{"123", "456", "7", " ", "89"}},
		{"qwen2 single digits", "qwen2", "x=2024;",
			[]string{"x", "=", "2", "0", "2", "4", ";"}},
		{"llama3 punctuation takes one leading space and trailing newlines", "llama3", "a ...\n\nb",
			[]string{"a", " ...\n\n", "b"}},
		{"llama3 letters take one leading non-letter", "llama3", "(foo)_bar",
			[]string{"(foo", ")_", "bar"}},
		{"llama3 one prefix only", "llama3", "(_bar",
			[]string{"(_", "bar"}},
		{"llama3 trailing spaces", "llama3", "end   ",
			[]string{"end", "   "}},
		{"llama3 spaces before word", "llama3", "a    b",
			[]string{"a", "   ", " b"}},
		{"llama3 tab indentation", "llama3", "if x:\n\treturn 1\n",
			[]string{"if", " x", ":\n", "\treturn", " ", "1", "\n"}},
		{"llama3 code indentation", "llama3", "def f():\n    return 42\n",
			[]string{"def", " f", "():\n", "   ", " return", " ", "42", "\n"}},
		{"llama3 spaces then newline", "llama3", "a  \n  b",
			[]string{"a", "  \n", " ", " b"}},
		{"llama3 crlf", "llama3", "a\r\n\r\nb",
			[]string{"a", "\r\n\r\n", "b"}},
		{"qwen2 non-ascii letters", "qwen2", "naïve café Ωmega",
			[]string{"naïve", " café", " Ωmega"}},
		{"qwen2 CJK run", "qwen2", "你好，世界",
			[]string{"你好", "，世界"}},
		{"qwen2 combining mark splits a word", "qwen2", "e\u0301t\u00e9",
			[]string{"e", "\u0301t\u00e9"}},
		{"qwen35 combining mark stays in the word", "qwen35", "e\u0301t\u00e9",
			[]string{"e\u0301t\u00e9"}},
		{"qwen2 emoji", "qwen2", "hi 👋🏽!",
			[]string{"hi", " 👋🏽!"}},
		{"qwen2 non-ascii digits", "qwen2", "٣٤ ½",
			[]string{"٣", "٤", " ", "½"}},
		{"llama3 no-break space is whitespace", "llama3", "a\u00a0\u00a0b",
			[]string{"a", "\u00a0", "\u00a0b"}},
		{"gpt2 whitespace run at end", "gpt-2", "x \t ",
			[]string{"x", " \t "}},
		{"laguna newline runs first", "laguna", "a b\n\n c",
			[]string{"a", " b", "\n\n", " c"}},
		{"deepseek-coder", "deepseek-coder", "foo, bar\n12 漢字",
			[]string{"foo", ",", " bar", "\n", "1", "2", " ", "漢字"}},
		{"default keeps punctuation runs apart", "default", "a+=b!?",
			[]string{"a", "+=", "b", "!?"}},
		{"empty", "qwen2", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitWords(t, tc.pre, tc.text)
			if !slices.Equal(got, tc.want) {
				t.Errorf("split(%q, %q)\n got %q\nwant %q", tc.pre, tc.text, got, tc.want)
			}
			if strings.Join(got, "") != tc.text {
				t.Errorf("pieces do not cover the text: %q", got)
			}
		})
	}
}

// The regexes llama.cpp's hand-written splitters stand for, in the ASCII
// case-folding form llama.cpp itself uses for llama3 and qwen2.
var customRegexes = map[string]string{
	"gpt2":   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
	"llama3": `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"qwen2":  `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"qwen35": `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
}

// regexSplit is the reference: leftmost-first matches of re over text, gaps
// between matches kept as pieces (the gpt2 regex leaves none in practice).
func regexSplit(t testing.TB, re *regexp2.Regexp, text string) []string {
	t.Helper()
	r := []rune(text)
	idx, err := re.FindAllRunesIndex(r, -1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	last := 0
	for _, m := range idx {
		if m[0] > last {
			out = append(out, string(r[last:m[0]]))
		}
		out = append(out, string(r[m[0]:m[1]]))
		last = m[1]
	}
	if last < len(r) {
		out = append(out, string(r[last:]))
	}
	return out
}

// pretokAlphabet mixes every class the splitters branch on, weighted so that
// runs and boundaries are common.
var pretokAlphabet = []rune{
	'a', 'b', 'Z', 's', 't', 'S', 'T', 'r', 'e', 'v', 'l', 'L', 'm', 'd', 'D',
	'0', '1', '9', '\'', '\'', ' ', ' ', ' ', '\t', '\n', '\n', '\r', '\v', '\f',
	'.', ',', '!', '(', ')', '_', '-', '$', '+', '<', '=', '|', '`', '~', '^',
	'é', 'Ω', 'ж', '你', '가', 'ـ', '\u0301', '\u0903', '٣', '½', 'Ⅻ',
	'\u00a0', '\u3000', '\u2028', '\u0085', '\u200b', '\u00ad', '\ue000',
	'€', '©', '∑', '👋', '🏽', '—', '“', '\u0378', // U+0378 is unassigned
	0x1C, 0x1F, 0x7F,
}

// pretokChunks are multi-character pieces that exercise runs: digit groups,
// contractions, indentation, newline runs.
var pretokChunks = []string{
	"1234567", "42", "٣٤٥", "'s", "'LL", "'ve", "    ", "\n\n", "\r\n", " \n ", "\t\t",
	"hello", " world", "e\u0301", "...", " (", "__init__", "你好", "🏳️‍🌈",
}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		if rng.IntN(4) == 0 {
			b.WriteString(pretokChunks[rng.IntN(len(pretokChunks))])
			continue
		}
		b.WriteRune(pretokAlphabet[rng.IntN(len(pretokAlphabet))])
	}
	return b.String()
}

// TestCustomSplittersMatchRegexSemantics checks the hand-written splitters,
// ported from llama.cpp, against a backtracking regex engine running the
// patterns they implement.
func TestCustomSplittersMatchRegexSemantics(t *testing.T) {
	pres := map[string]string{"gpt2": "gpt-2", "llama3": "llama3", "qwen2": "qwen2", "qwen35": "qwen35"}
	rng := rand.New(rand.NewPCG(1, 2))
	var samples []string
	for range 3000 {
		samples = append(samples, randomText(rng, 1+rng.IntN(24)))
	}
	samples = append(samples, "Hello  world's 12345\n\n  ok", "  leading", "trailing  ", "\n", " ", "'", "'s", "x'LL", " 'll")
	for name, pattern := range customRegexes {
		t.Run(name, func(t *testing.T) {
			re := regexp2.MustCompile(pattern, regexp2.None)
			fails := 0
			for _, s := range samples {
				got := splitWords(t, pres[name], s)
				want := regexSplit(t, re, s)
				if !slices.Equal(got, want) {
					t.Errorf("%q\n got %q\nwant %q", s, got, want)
					if fails++; fails > 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

// collapsedStage mirrors llama.cpp's general path for a regex stage: when the
// pattern uses \p{..} classes, the text is collapsed to one byte per code
// point (ASCII kept, other code points replaced by a category byte or \v for
// white space) and the pattern's classes are rewritten to those bytes; other
// patterns run on the code points with non-ASCII white space turned into \v.
// Both run on an ECMAScript engine, as std::regex does.
type collapsedStage struct {
	re        *regexp2.Regexp
	collapsed bool
}

var (
	ucatByte  = map[string]rune{`\p{N}`: 0xD1, `\p{L}`: 0xD2, `\p{P}`: 0xD3, `\p{M}`: 0xD4, `\p{S}`: 0xD5}
	ucatASCII = map[string]string{
		`\p{N}`: `0-9`,
		`\p{L}`: `A-Za-z`,
		`\p{P}`: `!-#%-*,-/:-;?-@\[-\]_\{\}`,
		`\p{M}`: ``,
		`\p{S}`: `\$\+<-\>\^` + "`" + `\|~`,
	}
)

func newCollapsedStage(t testing.TB, pattern string) collapsedStage {
	t.Helper()
	if !strings.Contains(pattern, `\p{`) {
		return collapsedStage{re: regexp2.MustCompile(pattern, regexp2.ECMAScript|regexp2.Unicode)}
	}
	var b strings.Builder
	inside := false
	for i := 0; i < len(pattern); i++ {
		switch {
		case pattern[i] == '[' && (i == 0 || pattern[i-1] != '\\'):
			inside = true
			b.WriteByte('[')
			continue
		case inside && pattern[i] == ']' && pattern[i-1] != '\\':
			inside = false
			b.WriteByte(']')
			continue
		case strings.HasPrefix(pattern[i:], `\p{`) && len(pattern) >= i+5:
			cat := pattern[i : i+5]
			if c, ok := ucatByte[cat]; ok {
				if !inside {
					b.WriteByte('[')
				}
				b.WriteString(`\u00` + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
				b.WriteString(ucatASCII[cat])
				if !inside {
					b.WriteByte(']')
				}
				i += 4
				continue
			}
		}
		b.WriteByte(pattern[i])
	}
	return collapsedStage{re: regexp2.MustCompile(b.String(), regexp2.ECMAScript|regexp2.Unicode), collapsed: true}
}

func (c collapsedStage) split(t testing.TB, cpts []rune, pieces [][2]int) [][2]int {
	t.Helper()
	view := make([]rune, len(cpts))
	for i, r := range cpts {
		f := flagsOf(r)
		switch {
		case r < 0x80:
			view[i] = r
		case f.isWhitespace():
			view[i] = 0x0B
		case !c.collapsed:
			view[i] = r
		case f&flagNumber != 0:
			view[i] = 0xD1
		case f&flagLetter != 0:
			view[i] = 0xD2
		case f&flagPunct != 0:
			view[i] = 0xD3
		case f&flagMark != 0:
			view[i] = 0xD4
		case f&flagSymbol != 0:
			view[i] = 0xD5
		default:
			view[i] = 0xD0
		}
	}
	var out [][2]int
	for _, p := range pieces {
		idx, err := c.re.FindAllRunesIndex(view[p[0]:p[1]], -1)
		if err != nil {
			t.Fatal(err)
		}
		last := 0
		for _, m := range idx {
			if m[0] > last {
				out = append(out, [2]int{p[0] + last, p[0] + m[0]})
			}
			out = append(out, [2]int{p[0] + m[0], p[0] + m[1]})
			last = m[1]
		}
		if p[0]+last < p[1] {
			out = append(out, [2]int{p[0] + last, p[1]})
		}
	}
	return out
}

// TestRegexStagesMatchStdRegexEmulation checks the pre-tokenizers built from
// class-run stages against an emulation of llama.cpp's std::regex path.
func TestRegexStagesMatchStdRegexEmulation(t *testing.T) {
	gpt2 := customRegexes["gpt2"]
	cases := map[string][]string{
		"default":        {`[\p{P}\$\+<=>\^~\|]+`, gpt2, `\p{N}+`, `[0-9][0-9][0-9]`},
		"falcon":         {`[\p{P}\$\+<=>\^~\|` + "`" + `]+`, gpt2, `[0-9][0-9][0-9]`},
		"starcoder":      {`\p{N}`, gpt2},
		"deepseek-coder": {"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, "[一-龥ࠀ-一가-퟿]+", `\p{N}`},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var samples []string
	for range 2000 {
		samples = append(samples, randomText(rng, 1+rng.IntN(24)))
	}
	samples = append(samples, "Hello  world's 12345\n\n  ok", "a\u3000你好 123456")
	for pre, patterns := range cases {
		t.Run(pre, func(t *testing.T) {
			var stages []collapsedStage
			for _, p := range patterns {
				stages = append(stages, newCollapsedStage(t, p))
			}
			fails := 0
			for _, s := range samples {
				cpts := []rune(s)
				pieces := [][2]int{{0, len(cpts)}}
				for i, st := range stages {
					if patterns[i] == gpt2 {
						// the GPT-2 stage is llama.cpp's custom code, checked above
						pieces = gpt2Pieces(cpts, pieces)
						continue
					}
					pieces = st.split(t, cpts, pieces)
				}
				var want []string
				for _, p := range pieces {
					want = append(want, string(cpts[p[0]:p[1]]))
				}
				got := splitWords(t, pre, s)
				if !slices.Equal(got, want) {
					t.Errorf("%q\n got %q\nwant %q", s, got, want)
					if fails++; fails > 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

func gpt2Pieces(cpts []rune, pieces [][2]int) [][2]int {
	ct := cptText{cpts: cpts}
	for _, r := range cpts {
		ct.flags = append(ct.flags, flagsOf(r))
	}
	var in []span
	for _, p := range pieces {
		in = append(in, span{p[0], p[1]})
	}
	var out [][2]int
	for _, s := range gpt2Stage.split(&ct, in, nil) {
		out = append(out, [2]int{s.start, s.end})
	}
	return out
}

func TestUnknownPreTokenizer(t *testing.T) {
	for _, pre := range []string{"no-such-pre", "gpt2", "tekken"} {
		if _, err := newPreTokenizer(pre); err == nil {
			t.Errorf("newPreTokenizer(%q): no error", pre)
		}
	}
}
