package tokenizer

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// NoToken marks an absent special token id, in Vocab and in the accessors.
const NoToken int32 = -1

// Token types as stored in tokenizer.ggml.token_type.
const (
	TypeUndefined   int32 = 0
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// Attr is llama.cpp's per-token attribute set (llama_token_attr), derived
// from the token type and adjusted by llama.cpp's text-based rules.
type Attr uint32

const (
	AttrUndefined   Attr = 0
	AttrUnknown     Attr = 1 << 0
	AttrUnused      Attr = 1 << 1
	AttrNormal      Attr = 1 << 2
	AttrControl     Attr = 1 << 3
	AttrUserDefined Attr = 1 << 4
	AttrByte        Attr = 1 << 5
	AttrNormalized  Attr = 1 << 6
	AttrLStrip      Attr = 1 << 7
	AttrRStrip      Attr = 1 << 8
	AttrSingleWord  Attr = 1 << 9
)

// Vocab is the tokenizer description a GGUF file carries in its tokenizer.ggml.*
// keys. The loader copies the keys in as they are; New applies llama.cpp's
// defaults for the ones that are absent.
type Vocab struct {
	Model  string    // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
	Pre    string    // tokenizer.ggml.pre; "" when absent (llama.cpp then uses "default")
	Tokens []string  // tokenizer.ggml.tokens
	Types  []int32   // tokenizer.ggml.token_type; nil when absent (all normal)
	Scores []float32 // tokenizer.ggml.scores; nil when absent (all 0); used by SentencePiece
	Merges []string  // tokenizer.ggml.merges ("left right"); required for gpt2

	// Special token ids from tokenizer.ggml.<name>_token_id; NoToken (-1) when
	// the key is absent. An id outside the vocabulary is ignored with a
	// warning, as llama.cpp does.
	BOS, EOS, EOT, EOM, UNK, SEP, PAD, Mask int32
	// Fill-in-the-middle ids: tokenizer.ggml.fim_{pre,suf,mid,pad,rep,sep}_token_id
	// (the older prefix/suffix/middle_token_id keys, when present, win for
	// FIMPre/FIMSuf/FIMMid). FIMPad, FIMRep and FIMSep end generation.
	FIMPre, FIMSuf, FIMMid, FIMPad, FIMRep, FIMSep int32

	AddBOS         *bool // tokenizer.ggml.add_bos_token; nil when absent
	AddEOS         *bool // tokenizer.ggml.add_eos_token; nil when absent
	AddSpacePrefix *bool // tokenizer.ggml.add_space_prefix; nil when absent

	Name string // general.name; llama.cpp keys a few token attributes on it (Phi-3)
	Arch string // general.architecture

	legacyFIM [3]bool // FIMPre/FIMSuf/FIMMid came from prefix/suffix/middle_token_id
}

// SetSpecial stores the id of the GGUF key tokenizer.ggml.<name>_token_id
// ("bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask",
// "fim_pre" ... "fim_sep", and the older "prefix", "suffix", "middle") in
// the matching field, so a loader can pass every *_token_id key through in
// any order. It reports whether name is a key llama.cpp reads; ids that do
// not fit the vocabulary are kept so that New can ignore them with a
// warning, as llama.cpp does.
func (v *Vocab) SetSpecial(name string, id int64) bool {
	var id32 int32
	switch {
	case id < 0:
		id32 = -2 // never a valid id, and not NoToken
	case id > math.MaxInt32:
		id32 = math.MaxInt32
	default:
		id32 = int32(id)
	}
	fim := func(dst *int32, slot int, legacy bool) {
		// llama.cpp reads the older key after the newer one, so it wins.
		if legacy || !v.legacyFIM[slot] {
			*dst = id32
		}
		if legacy {
			v.legacyFIM[slot] = true
		}
	}
	switch name {
	case "bos":
		v.BOS = id32
	case "eos":
		v.EOS = id32
	case "eot":
		v.EOT = id32
	case "eom":
		v.EOM = id32
	case "unknown":
		v.UNK = id32
	case "seperator": // sic: llama.cpp's key name
		v.SEP = id32
	case "padding":
		v.PAD = id32
	case "mask":
		v.Mask = id32
	case "fim_pre", "prefix":
		fim(&v.FIMPre, 0, name == "prefix")
	case "fim_suf", "suffix":
		fim(&v.FIMSuf, 1, name == "suffix")
	case "fim_mid", "middle":
		fim(&v.FIMMid, 2, name == "middle")
	case "fim_pad":
		v.FIMPad = id32
	case "fim_rep":
		v.FIMRep = id32
	case "fim_sep":
		v.FIMSep = id32
	default:
		return false
	}
	return true
}

// EmptyVocab returns a Vocab with every special id set to NoToken, the
// starting point for a loader that fills in the keys it finds.
func EmptyVocab() Vocab {
	return Vocab{
		BOS: NoToken, EOS: NoToken, EOT: NoToken, EOM: NoToken, UNK: NoToken, SEP: NoToken, PAD: NoToken, Mask: NoToken,
		FIMPre: NoToken, FIMSuf: NoToken, FIMMid: NoToken, FIMPad: NoToken, FIMRep: NoToken, FIMSep: NoToken,
	}
}

// ErrInvalidVocab is wrapped by every error New returns.
var ErrInvalidVocab = errors.New("tokenizer: invalid vocabulary")

func vocabErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidVocab}, args...)...)
}

type modelKind uint8

const (
	modelBPE modelKind = iota
	modelSPM
)

type tokenData struct {
	text  string
	score float32
	attr  Attr
}

func attrFromType(t int32) Attr {
	switch t {
	case TypeUnknown:
		return AttrUnknown
	case TypeUnused:
		return AttrUnused
	case TypeNormal:
		return AttrNormal
	case TypeControl:
		return AttrControl
	case TypeUserDefined:
		return AttrUserDefined
	case TypeByte:
		return AttrByte
	}
	return AttrUndefined
}

// Token texts llama.cpp uses to find special tokens a converter did not name.
// Every match is also forced to be a control token.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
		"▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
		"▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
		"▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	// Texts that end generation whatever the metadata says.
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
	// gpt-oss tokens llama.cpp always renders.
	alwaysRenderTexts = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// New validates v and builds a tokenizer that tokenizes as llama.cpp does
// for the same GGUF metadata.
func New(v Vocab) (*Tokenizer, error) {
	t := &Tokenizer{}
	switch v.Model {
	case "gpt2":
		t.kind = modelBPE
	case "llama":
		t.kind = modelSPM
	case "":
		return nil, vocabErr("tokenizer.ggml.model is missing")
	case "bert", "t5", "rwkv", "plamo2", "gemma4", "hybriddna", "whitespace", "no_vocab", "none":
		return nil, vocabErr("tokenizer model %q is not supported (only gpt2 and llama are)", v.Model)
	default:
		return nil, vocabErr("unknown tokenizer model %q", v.Model)
	}
	t.model = v.Model

	n := len(v.Tokens)
	if n == 0 {
		return nil, vocabErr("tokenizer.ggml.tokens is missing or empty")
	}
	if n > 1<<31-1 {
		return nil, vocabErr("%d tokens is more than an int32 id can address", n)
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, vocabErr("tokenizer.ggml.token_type has %d entries for %d tokens", len(v.Types), n)
	}
	if v.Scores != nil && len(v.Scores) < n {
		return nil, vocabErr("tokenizer.ggml.scores has %d entries for %d tokens", len(v.Scores), n)
	}

	if t.kind == modelBPE {
		t.preName = v.Pre
		pre, err := newPreTokenizer(v.Pre)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidVocab, err)
		}
		t.pre = pre
		if v.Pre == "" {
			t.warn("tokenizer.ggml.pre is missing; using the default pre-tokenizer (as llama.cpp does)")
		}
		if len(v.Merges) == 0 {
			return nil, vocabErr("tokenizer.ggml.merges is missing or empty; a gpt2 tokenizer needs its merges")
		}
	}

	t.tokens = make([]tokenData, n)
	t.tokenToID = make(map[string]int32, n)
	for i, text := range v.Tokens {
		if text == "" {
			text = fmt.Sprintf("[EMPTY_%d]", i)
			t.warn(fmt.Sprintf("empty token at index %d", i))
		}
		if j, dup := t.tokenToID[text]; dup {
			return nil, vocabErr("token %d has the same text as token %d (%q)", i, j, text)
		}
		t.tokenToID[text] = int32(i)
		d := tokenData{text: text, attr: AttrNormal}
		if v.Scores != nil {
			d.score = v.Scores[i]
		}
		if v.Types != nil {
			d.attr = attrFromType(v.Types[i])
		}
		t.tokens[i] = d
	}

	if t.kind == modelBPE {
		t.buildBPETables(v.Merges)
		t.words = &wordCache{}
	}

	// Flags and defaults per model, then the keys that override them.
	var addBOS, addEOS, addSpacePrefix bool
	t.bos, t.eos, t.unk = NoToken, NoToken, NoToken
	t.eot, t.eom, t.sep, t.pad, t.mask = NoToken, NoToken, NoToken, NoToken, NoToken
	t.fimPre, t.fimSuf, t.fimMid, t.fimPad, t.fimRep, t.fimSep = NoToken, NoToken, NoToken, NoToken, NoToken, NoToken
	switch t.kind {
	case modelSPM:
		t.bos, t.eos, t.unk = 1, 2, 0
		addBOS, addSpacePrefix = true, true
	case modelBPE:
		t.bos, t.eos = 11, 11
		if t.pre.noDefaultBOS {
			t.bos = NoToken
		}
		addBOS = t.pre.addBOS
		t.cleanSpaces = t.pre.cleanSpaces
	}
	if v.AddSpacePrefix != nil {
		addSpacePrefix = *v.AddSpacePrefix
	}
	for _, s := range []struct {
		name string
		dst  *int32
		key  int32
	}{
		{"bos", &t.bos, v.BOS}, {"eos", &t.eos, v.EOS}, {"eot", &t.eot, v.EOT}, {"eom", &t.eom, v.EOM},
		{"unknown", &t.unk, v.UNK}, {"seperator", &t.sep, v.SEP}, {"padding", &t.pad, v.PAD},
		{"mask", &t.mask, v.Mask}, {"fim_pre", &t.fimPre, v.FIMPre}, {"fim_suf", &t.fimSuf, v.FIMSuf},
		{"fim_mid", &t.fimMid, v.FIMMid}, {"fim_pad", &t.fimPad, v.FIMPad}, {"fim_rep", &t.fimRep, v.FIMRep},
		{"fim_sep", &t.fimSep, v.FIMSep},
	} {
		if *s.dst >= int32(n) {
			t.warn(fmt.Sprintf("default %s token %d is out of the vocabulary; disabled", s.name, *s.dst))
			*s.dst = NoToken
		}
		switch {
		case s.key == NoToken:
		case s.key < 0 || s.key >= int32(n):
			t.warn(fmt.Sprintf("tokenizer.ggml.%s_token_id = %d is out of the vocabulary (%d tokens); using %d",
				s.name, s.key, n, *s.dst))
		default:
			*s.dst = s.key
		}
	}
	if v.AddBOS != nil {
		addBOS = *v.AddBOS
	}
	if v.AddEOS != nil {
		addEOS = *v.AddEOS
	}
	if addBOS && t.bos == NoToken {
		return nil, vocabErr("the vocabulary asks for a BOS token but has none")
	}
	if addEOS && t.eos == NoToken {
		return nil, vocabErr("the vocabulary asks for an EOS token but has none")
	}
	t.addBOS, t.addEOS, t.addSpacePrefix = addBOS, addEOS, addSpacePrefix

	t.deriveSpecials()
	t.applyNameRules(v)
	t.buildCaches()
	return t, nil
}

// deriveSpecials reproduces llama.cpp's text-based rules: special tokens
// found by their text, control and unused marking, and the end-of-generation
// set. When several tokens could be EOT (or EOM, or a FIM token), llama.cpp
// keeps the first its std::unordered_map yields, so that order is
// reproduced (hashorder.go) whenever there is a choice to make.
func (t *Tokenizer) deriveSpecials() {
	forceControl := func(id int32) {
		t.tokens[id].attr |= AttrControl
	}
	var rank []int32 // position of each id in llama.cpp's map iteration, computed on demand
	detect := func(dst *int32, texts []string) {
		if *dst != NoToken {
			return
		}
		var candidates []int32
		for _, text := range texts {
			if id, ok := t.tokenToID[text]; ok {
				candidates = append(candidates, id)
			}
		}
		if len(candidates) == 0 {
			return
		}
		if len(candidates) > 1 && rank == nil {
			keys := make([]string, len(t.tokens))
			for i := range t.tokens {
				keys[i] = t.tokens[i].text
			}
			rank = make([]int32, len(t.tokens))
			for pos, id := range stdMapOrder(keys) {
				rank[id] = int32(pos)
			}
		}
		best := candidates[0]
		for _, id := range candidates[1:] {
			if rank[id] < rank[best] {
				best = id
			}
		}
		*dst = best
		forceControl(best)
	}
	detect(&t.eot, eotTexts)
	detect(&t.eom, eomTexts)
	detect(&t.fimPre, fimPreTexts)
	detect(&t.fimSuf, fimSufTexts)
	detect(&t.fimMid, fimMidTexts)
	detect(&t.fimPad, fimPadTexts)
	detect(&t.fimRep, fimRepTexts)
	detect(&t.fimSep, fimSepTexts)

	for i := range t.tokens {
		d := &t.tokens[i]
		if d.attr&AttrControl != 0 && strings.Contains(d.text, "unused") {
			d.attr |= AttrUnused
		}
	}

	t.eog = make(map[int32]bool)
	for _, id := range []int32{t.fimPad, t.fimRep, t.fimSep} {
		if id != NoToken {
			t.eog[id] = true
		}
	}
	for i := range t.tokens {
		if slices.Contains(eogTexts, t.tokens[i].text) {
			t.eog[int32(i)] = true
			forceControl(int32(i))
		}
	}
	for i := range t.tokens {
		if slices.Contains(alwaysRenderTexts, t.tokens[i].text) {
			t.tokens[i].attr = AttrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != NoToken && !t.eog[id] {
			t.eog[id] = true
			t.warn(fmt.Sprintf("special token %d is not an end-of-generation token by its text; added", id))
		}
	}

	// gpt-oss and solar-open use <|end|> between turns, not to stop.
	has := func(text string) (int32, bool) {
		id, ok := t.tokenToID[text]
		return id, ok && t.eog[id]
	}
	_, hasReturn := has("<|return|>")
	_, hasCall := has("<|call|>")
	if !hasCall {
		_, hasCall = has("<|calls|>")
	}
	_, hasFlush := has("<|flush|>")
	if endID, hasEnd := has("<|end|>"); hasEnd && hasCall && (hasReturn || hasFlush) {
		delete(t.eog, endID)
		t.tokens[endID].attr = AttrUserDefined
	}
	// Gemma 4 and PaddleOCR: </s> is an ordinary token there.
	if _, ok := has("<|tool_response>"); ok {
		if sID, ok := has("</s>"); ok {
			delete(t.eog, sID)
			t.tokens[sID].attr = AttrNormal
		}
	}
}

// applyNameRules sets the strip attributes llama.cpp assigns by model,
// tokenizer or architecture name.
func (t *Tokenizer) applyNameRules(v Vocab) {
	set := func(text string, a Attr, on bool) {
		id, ok := t.tokenToID[text]
		if !ok {
			return
		}
		if on {
			t.tokens[id].attr |= a
		} else {
			t.tokens[id].attr &^= a
		}
	}
	containsAny := func(s string, subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	name := strings.ToLower(v.Name)
	switch {
	case containsAny(v.Pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || containsAny(v.Arch, "nomic-bert-moe", "jina-bert-v3"):
		set("<mask>", AttrLStrip, true)
	case containsAny(name, "phi-3", "phi3"):
		for i := range t.tokens {
			if t.tokens[i].attr&(AttrControl|AttrUserDefined|AttrUnknown) != 0 {
				t.tokens[i].attr |= AttrRStrip
			}
		}
		set("</s>", AttrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(s, AttrRStrip, false)
		}
	case containsAny(name, "modern-bert"):
		set("[MASK]", AttrLStrip, true)
	}
}

// buildCaches computes the special-token match order and every token's piece.
func (t *Tokenizer) buildCaches() {
	for i := range t.tokens {
		if t.tokens[i].attr&(AttrControl|AttrUserDefined|AttrUnknown) != 0 {
			t.specials = append(t.specials, int32(i))
		}
	}
	// Longest text first; llama.cpp's sort leaves equal lengths unordered,
	// ascending id makes it deterministic.
	slices.SortStableFunc(t.specials, func(a, b int32) int {
		return cmp.Compare(len(t.tokens[b].text), len(t.tokens[a].text))
	})

	t.pieces = make([]string, len(t.tokens))
	for i := range t.tokens {
		t.pieces[i] = t.renderPiece(int32(i))
	}

	for b := range t.byteTokens {
		t.byteTokens[b] = NoToken
		if t.kind != modelSPM {
			continue
		}
		if id, ok := t.tokenToID[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteTokens[b] = id
		} else if id, ok := t.tokenToID[string([]byte{byte(b)})]; ok {
			t.byteTokens[b] = id
		} else {
			// llama.cpp aborts here; the unknown token is the documented
			// SentencePiece behaviour without byte fallback.
			t.byteTokens[b] = t.unk
		}
	}
	t.buildBytesPerToken()
}

// buildBytesPerToken sets bytesPerToken: the longest token text, provided
// every byte of text comes out inside some token (for BPE, every symbol a
// merge run leaves is a token; for SentencePiece, every byte has a byte
// token or the unknown token), else 0.
func (t *Tokenizer) buildBytesPerToken() {
	switch t.kind {
	case modelBPE:
		if !t.bpe.closed {
			return
		}
	case modelSPM:
		if slices.Contains(t.byteTokens[:], NoToken) {
			return
		}
	default:
		return
	}
	for i := range t.tokens {
		t.bytesPerToken = max(t.bytesPerToken, len(t.tokens[i].text))
	}
}
