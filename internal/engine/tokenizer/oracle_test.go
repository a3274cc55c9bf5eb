package tokenizer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The oracle test writes vocabulary-only GGUF files, has llama.cpp (through
// node-llama-cpp in tools/oracle) tokenize a broad set of strings with them,
// and requires identical ids, detokenized text, attributes and
// end-of-generation sets. It is skipped where node or the npm install is
// missing.

const oracleDir = "../../../tools/oracle"

// ggufKV is one metadata entry for writeVocabGGUF.
type ggufKV struct {
	key string
	val any // string, uint32, float32, bool, []string, []int32, []float32
}

// writeVocabGGUF writes a GGUF v3 file with metadata and no tensors, enough
// for llama.cpp to load a vocabulary (vocab_only).
func writeVocabGGUF(t testing.TB, path string, kvs []ggufKV) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	str := func(s string) {
		binary.Write(&b, le, uint64(len(s)))
		b.WriteString(s)
	}
	b.WriteString("GGUF")
	binary.Write(&b, le, uint32(3))
	binary.Write(&b, le, uint64(0))
	binary.Write(&b, le, uint64(len(kvs)))
	const (
		tU32, tI32, tF32, tBool, tStr, tArr = 4, 5, 6, 7, 8, 9
	)
	for _, kv := range kvs {
		str(kv.key)
		switch v := kv.val.(type) {
		case string:
			binary.Write(&b, le, uint32(tStr))
			str(v)
		case uint32:
			binary.Write(&b, le, uint32(tU32))
			binary.Write(&b, le, v)
		case float32:
			binary.Write(&b, le, uint32(tF32))
			binary.Write(&b, le, v)
		case bool:
			binary.Write(&b, le, uint32(tBool))
			binary.Write(&b, le, v)
		case []string:
			binary.Write(&b, le, uint32(tArr))
			binary.Write(&b, le, uint32(tStr))
			binary.Write(&b, le, uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []int32:
			binary.Write(&b, le, uint32(tArr))
			binary.Write(&b, le, uint32(tI32))
			binary.Write(&b, le, uint64(len(v)))
			binary.Write(&b, le, v)
		case []float32:
			binary.Write(&b, le, uint32(tArr))
			binary.Write(&b, le, uint32(tF32))
			binary.Write(&b, le, uint64(len(v)))
			binary.Write(&b, le, v)
		default:
			t.Fatalf("writeVocabGGUF: unsupported value %T for %s", v, kv.key)
		}
	}
	for b.Len()%32 != 0 {
		b.WriteByte(0)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// vocabKVs renders a Vocab as the metadata a converter would write, around
// a minimal llama architecture block.
func vocabKVs(v Vocab) []ggufKV {
	kvs := []ggufKV{
		{"general.architecture", "llama"},
		{"general.name", cmpOr(v.Name, "tether tokenizer oracle")},
		{"llama.context_length", uint32(64)},
		{"llama.embedding_length", uint32(32)},
		{"llama.block_count", uint32(1)},
		{"llama.feed_forward_length", uint32(64)},
		{"llama.attention.head_count", uint32(2)},
		{"llama.attention.head_count_kv", uint32(2)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.rope.dimension_count", uint32(16)},
		{"tokenizer.ggml.model", v.Model},
	}
	if v.Pre != "" {
		kvs = append(kvs, ggufKV{"tokenizer.ggml.pre", v.Pre})
	}
	kvs = append(kvs, ggufKV{"tokenizer.ggml.tokens", v.Tokens})
	if v.Types != nil {
		kvs = append(kvs, ggufKV{"tokenizer.ggml.token_type", v.Types})
	}
	if v.Scores != nil {
		kvs = append(kvs, ggufKV{"tokenizer.ggml.scores", v.Scores})
	}
	if v.Merges != nil {
		kvs = append(kvs, ggufKV{"tokenizer.ggml.merges", v.Merges})
	}
	for _, s := range []struct {
		key string
		id  int32
	}{{"bos", v.BOS}, {"eos", v.EOS}, {"eot", v.EOT}, {"unknown", v.UNK}, {"padding", v.PAD}} {
		if s.id != NoToken {
			kvs = append(kvs, ggufKV{"tokenizer.ggml." + s.key + "_token_id", uint32(s.id)})
		}
	}
	for _, s := range []struct {
		key string
		b   *bool
	}{{"add_bos_token", v.AddBOS}, {"add_eos_token", v.AddEOS}, {"add_space_prefix", v.AddSpacePrefix}} {
		if s.b != nil {
			kvs = append(kvs, ggufKV{"tokenizer.ggml." + s.key, *s.b})
		}
	}
	return kvs
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// oracleCase is one vocabulary and the strings and id sequences to compare.
type oracleCase struct {
	name   string
	vocab  Vocab
	texts  []string
	decode [][]int32
}

type oracleModelResult struct {
	Error  string  `json:"error"`
	BOS    int32   `json:"bos"`
	EOS    int32   `json:"eos"`
	EOT    int32   `json:"eot"`
	AddBOS bool    `json:"add_bos"`
	AddEOS bool    `json:"add_eos"`
	EOG    []int32 `json:"eog"`
	Attrs  []Attr  `json:"attrs"`
	Texts  []struct {
		Plain        []int32 `json:"plain"`
		Special      []int32 `json:"special"`
		Detok        string  `json:"detok"`
		DetokSpecial string  `json:"detok_special"`
	} `json:"texts"`
	Decode []struct {
		Plain   string `json:"plain"`
		Special string `json:"special"`
	} `json:"decode"`
}

func runOracle(t *testing.T, cases []oracleCase) []oracleModelResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		oracleMissing(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", "node-llama-cpp")); err != nil {
		oracleMissing(t, "node-llama-cpp is not installed (run npm ci in tools/oracle)")
	}
	dir := t.TempDir()
	type reqModel struct {
		Path    string    `json:"path"`
		NTokens int       `json:"n_tokens"`
		Texts   []string  `json:"texts"`
		Decode  [][]int32 `json:"decode"`
	}
	var req struct {
		Models []reqModel `json:"models"`
	}
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprintf("%02d.gguf", i))
		writeVocabGGUF(t, path, vocabKVs(c.vocab))
		req.Models = append(req.Models, reqModel{path, len(c.vocab.Tokens), c.texts, c.decode})
	}
	reqPath := filepath.Join(dir, "request.json")
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reqPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script, _ := filepath.Abs(filepath.Join(oracleDir, "tokenize.mjs"))
	cmd := exec.CommandContext(ctx, node, script, reqPath)
	cmd.Dir = oracleDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var resp struct {
		Models []oracleModelResult `json:"models"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("oracle output: %v", err)
	}
	if len(resp.Models) != len(cases) {
		t.Fatalf("oracle answered %d models for %d", len(resp.Models), len(cases))
	}
	return resp.Models
}

// spmCorpusVocab builds a SentencePiece vocabulary from the training corpus:
// every substring of up to six characters of a ▁-prefixed word that occurs
// at least twice, scored in coarse bands so that equal scores are common.
func spmCorpusVocab(userTokens ...string) Vocab {
	counts := map[string]int{}
	chars := map[string]bool{}
	for _, w := range strings.Fields(trainingCorpus) {
		r := []rune(spmSpace + w)
		for i := range r {
			chars[string(r[i])] = true
			for j := i + 2; j <= len(r) && j <= i+6; j++ {
				counts[string(r[i:j])]++
			}
		}
	}
	var pieces []string
	for p, n := range counts {
		if n >= 2 {
			pieces = append(pieces, p)
		}
	}
	sort.Slice(pieces, func(i, j int) bool {
		if counts[pieces[i]] != counts[pieces[j]] {
			return counts[pieces[i]] > counts[pieces[j]]
		}
		return pieces[i] < pieces[j]
	})
	v := EmptyVocab()
	v.Model = "llama"
	add := func(text string, typ int32, score float32) {
		v.Tokens = append(v.Tokens, text)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", TypeUnknown, 0)
	add("<s>", TypeControl, 0)
	add("</s>", TypeControl, 0)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), TypeByte, 0)
	}
	seen := map[string]bool{}
	for i, p := range pieces {
		seen[p] = true
		add(p, TypeNormal, -float32(i/16))
	}
	var single []string
	for c := range chars {
		if !seen[c] && c != "\u2581" {
			single = append(single, c)
		}
	}
	slices.Sort(single)
	add(spmSpace, TypeNormal, -1)
	for _, c := range single {
		add(c, TypeNormal, -1000)
	}
	for _, u := range userTokens {
		add(u, TypeUserDefined, 0)
	}
	add("<|im_start|>", TypeControl, 0)
	add("<|im_end|>", TypeControl, 0)
	v.BOS, v.EOS, v.UNK = 1, 2, 0
	return v
}

// oracleTexts is the comparison set: the round-trip strings, chat prompts
// with special tokens, near-misses of special tokens, and random mixtures
// of every character class the pre-tokenizers branch on.
func oracleTexts(seed uint64, n int) []string {
	var out []string
	for _, k := range slices.Sorted(mapKeys(roundTripTexts)) {
		out = append(out, roundTripTexts[k])
	}
	out = append(out,
		"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n<|im_start|>assistant\n",
		"<|im_start|>assistant\n<think>\nok\n</think>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
		"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
		"<|im_start <|im_end| |im_end|> <tool_call <<|im_end|>>",
		"<s> hello </s>world<s>", " <s>", "<unk>", "x<tool_call>y", "<tool_call><tool_call>",
		"", " ", "  ", "\n", "a", "'", "’s", "I'M", "don'T", "▁hello ▁", "\u2581",
	)
	rng := rand.New(rand.NewPCG(seed, 99))
	for range n {
		out = append(out, randomText(rng, 1+rng.IntN(40)))
	}
	return out
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// randomIDs are id sequences for detokenization: random tokens, byte
// tokens that split characters, control tokens, leading spaces.
func randomIDs(seed uint64, nTokens, n int) [][]int32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out [][]int32
	for range n {
		ids := make([]int32, 1+rng.IntN(12))
		for i := range ids {
			ids[i] = int32(rng.IntN(nTokens))
		}
		out = append(out, ids)
	}
	return out
}

func TestLlamaCppOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("oracle comparison runs node; skipped in -short")
	}
	var cases []oracleCase
	add := func(name string, v Vocab, nRandom int) {
		cases = append(cases, oracleCase{
			name:   name,
			vocab:  v,
			texts:  oracleTexts(uint64(len(cases)), nRandom),
			decode: randomIDs(uint64(len(cases)), len(v.Tokens), 60),
		})
	}
	add("qwen2", chatVocab(t, "qwen2"), 400)
	llama3 := chatVocab(t, "llama-bpe")
	for _, s := range []string{"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"} {
		llama3.Tokens = append(llama3.Tokens, s)
		llama3.Types = append(llama3.Types, TypeControl)
	}
	llama3.BOS = int32(len(llama3.Tokens) - 4)
	add("llama-bpe", llama3, 400)
	for _, pre := range []string{"", "default", "gpt-2", "starcoder", "falcon", "deepseek-coder", "qwen35", "laguna", "command-r", "megrez", "chatglm-bpe", "smaug-bpe"} {
		v := chatVocab(t, "qwen2")
		v.Pre = pre
		add("pre "+cmpOr(pre, "(missing)"), v, 150)
	}

	// Token types and texts that llama.cpp adjusts.
	edge := chatVocab(t, "qwen2")
	for _, s := range []struct {
		text string
		typ  int32
	}{
		{"<|eot_id|>", TypeNormal}, {"<|fim_pad|>", TypeNormal}, {"<|file_sep|>", TypeControl},
		{"<unused_7>", TypeControl}, {"<mystery>", TypeUnknown}, {"<spare>", TypeUnused},
		{"<undef>", TypeUndefined}, {"<odd>", 9}, {"<|return|>", TypeControl}, {"<|call|>", TypeControl},
		{"<|end|>", TypeControl}, {"<|channel|>", TypeControl}, {"", TypeNormal},
		{"<0x41>", TypeByte}, {"<|fim_prefix|>", TypeNormal},
	} {
		edge.Tokens = append(edge.Tokens, s.text)
		edge.Types = append(edge.Types, s.typ)
	}
	edge.EOT = NoToken
	edge.AddBOS, edge.AddEOS = ptr(true), ptr(true)
	add("edge types", edge, 50)

	spm := spmCorpusVocab("<tool_call>", "</tool_call>")
	add("spm", spm, 300)
	noPrefix := spmCorpusVocab()
	noPrefix.AddSpacePrefix = ptr(false)
	add("spm no space prefix", noPrefix, 100)
	phi3 := spmCorpusVocab("<|user|>", "<|endoftext|>")
	phi3.Name = "Phi-3 mini oracle"
	add("spm phi-3 strip rules", phi3, 50)

	results := runOracle(t, cases)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compareOracle(t, c, results[i])
		})
	}
}

func compareOracle(t *testing.T, c oracleCase, r oracleModelResult) {
	t.Helper()
	tok, err := New(c.vocab)
	if r.Error != "" || err != nil {
		t.Fatalf("llama.cpp error %q, New error %v", r.Error, err)
	}
	fails := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		if fails++; fails >= 8 {
			t.FailNow()
		}
	}
	for id, a := range r.Attrs {
		if got := tok.TokenAttr(int32(id)); got != a {
			fail("attr of %d %q = %#x, llama.cpp %#x", id, tok.TokenText(int32(id)), got, a)
		}
	}
	if got := tok.EOGTokens(); !slices.Equal(got, r.EOG) && !(len(got) == 0 && len(r.EOG) == 0) {
		fail("EOG %v, llama.cpp %v", got, r.EOG)
	}
	controlOnly := func(id int32) int32 { // node-llama-cpp reports BOS and EOS only when they are control tokens
		if id >= 0 && tok.TokenAttr(id)&AttrControl != 0 {
			return id
		}
		return -1
	}
	if controlOnly(tok.BOS()) != r.BOS || controlOnly(tok.EOS()) != r.EOS || tok.EOT() != r.EOT {
		fail("BOS/EOS/EOT %d/%d/%d, llama.cpp %d/%d/%d", tok.BOS(), tok.EOS(), tok.EOT(), r.BOS, r.EOS, r.EOT)
	}
	if tok.AddBOS() != r.AddBOS || tok.AddEOS() != r.AddEOS {
		fail("add_bos/add_eos %v/%v, llama.cpp %v/%v", tok.AddBOS(), tok.AddEOS(), r.AddBOS, r.AddEOS)
	}
	for i, text := range c.texts {
		want := r.Texts[i]
		if got := tok.Encode(text, false, false); !slices.Equal(got, want.Plain) && !(len(got) == 0 && len(want.Plain) == 0) {
			fail("Encode(%q)\n got %q\nwant %q", text, texts(tok, got), texts(tok, want.Plain))
		}
		got := tok.Encode(text, false, true)
		if !slices.Equal(got, want.Special) && !(len(got) == 0 && len(want.Special) == 0) {
			fail("Encode(%q, special)\n got %q\nwant %q", text, texts(tok, got), texts(tok, want.Special))
		}
		if d := tok.Decode(want.Special); utf8.ValidString(d) && d != want.Detok {
			fail("Decode(%q) = %q, llama.cpp %q", texts(tok, want.Special), d, want.Detok)
		}
		if d := tok.DecodeWith(want.Special, DecodeOptions{Special: true}); utf8.ValidString(d) && d != want.DetokSpecial {
			fail("Decode(%q, special) = %q, llama.cpp %q", texts(tok, want.Special), d, want.DetokSpecial)
		}
	}
	t.Logf("%d texts (plain and special), %d id sequences, %d token attributes compared", len(c.texts), len(c.decode), len(r.Attrs))
	for i, ids := range c.decode {
		want := r.Decode[i]
		if d := tok.Decode(ids); utf8.ValidString(d) && d != want.Plain {
			fail("Decode(%q) = %q, llama.cpp %q", texts(tok, ids), d, want.Plain)
		}
		if d := tok.DecodeWith(ids, DecodeOptions{Special: true}); utf8.ValidString(d) && d != want.Special {
			fail("Decode(%q, special) = %q, llama.cpp %q", texts(tok, ids), d, want.Special)
		}
	}
}

// oracleMissing skips, loudly, when llama.cpp cannot run; with
// TETHER_REQUIRE_ORACLE=1 (as CI sets it) it fails instead.
func oracleMissing(t *testing.T, why string) {
	t.Helper()
	msg := "LLAMA.CPP TOKENIZER ORACLE NOT RUN: " + why
	if os.Getenv("TETHER_REQUIRE_ORACLE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
