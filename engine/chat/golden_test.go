package chat

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateContexts = flag.Bool("update-contexts", false,
	"write testdata/golden/contexts.json, the input of testdata/hf_render.py")

// The golden files under testdata/golden/<template>/ were rendered from
// the official template texts by testdata/hf_render.py, which sets up
// Python's Jinja2 exactly as HF transformers does for apply_chat_template.
// They are what the model's own tooling prints; both the hand-written
// renderers and the Jinja fallback must print the same.

type templateUnderTest struct {
	file     string
	family   string // the family Parse must choose
	specials Specials
}

var qwenSpecials = Specials{EOS: "<|im_end|>"}
var llama3Specials = Specials{BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"}

// officialTemplates are the templates the models ship, each with a
// hand-written family. Llama 3.1 8B Instruct ships, as far as we know, the
// same text as Llama 3.3 70B Instruct (date_string "26 Jul 2024",
// builtin_tools); its own file was not among the copies we could fetch.
// chatml.jinja is the generic ChatML template many fine-tunes ship.
var officialTemplates = []templateUnderTest{
	{"chatml.jinja", FamilyChatML, qwenSpecials},
	{"qwen2.5-7b-instruct.jinja", FamilyQwen25, qwenSpecials},
	{"qwen3-0.6b.jinja", FamilyQwen3, qwenSpecials},
	{"llama-3.2-3b-instruct.jinja", FamilyLlama3, llama3Specials},
	{"llama-3.3-70b-instruct.jinja", FamilyLlama3, llama3Specials},
}

// fallbackTemplates are real templates with no hand-written family; the
// Jinja engine renders them.
var fallbackTemplates = []templateUnderTest{
	{"qwen-qwq-32b.jinja", FamilyJinja, qwenSpecials},
	{"deepseek-r1-distill-qwen-32b.jinja", FamilyJinja, Specials{BOS: "<｜begin▁of▁sentence｜>", EOS: "<｜end▁of▁sentence｜>"}},
	{"microsoft-phi-3.5-mini-instruct.jinja", FamilyJinja, Specials{BOS: "<s>", EOS: "<|endoftext|>"}},
	{"google-gemma-2-2b-it.jinja", FamilyJinja, Specials{BOS: "<bos>", EOS: "<eos>"}},
	{"mistralai-mistral-nemo-instruct-2407.jinja", FamilyJinja, Specials{BOS: "<s>", EOS: "</s>"}},
	{"meta-llama-llama-2-13b-chat.jinja", FamilyJinja, Specials{BOS: "<s>", EOS: "</s>"}},
}

func allTemplates() []templateUnderTest {
	return append(append([]templateUnderTest(nil), officialTemplates...), fallbackTemplates...)
}

func readTemplate(t testing.TB, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "templates", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustJinja(t testing.TB, tut templateUnderTest) *jinjaTemplate {
	t.Helper()
	jt, err := newJinja(readTemplate(t, tut.file), tut.specials)
	if err != nil {
		t.Fatalf("%s: %v", tut.file, err)
	}
	return jt
}

// golden is the expected result of one case: text, or an error.
type golden struct {
	text  string
	err   string
	isErr bool
}

func readGolden(t *testing.T, file, name string) golden {
	t.Helper()
	dir := filepath.Join("testdata", "golden", strings.TrimSuffix(file, ".jinja"))
	if data, err := os.ReadFile(filepath.Join(dir, name+".txt")); err == nil {
		return golden{text: string(data)}
	}
	data, err := os.ReadFile(filepath.Join(dir, name+".error"))
	if err != nil {
		t.Fatalf("no golden file for %s/%s: run go test -run TestGoldenContexts -update-contexts, then python3 testdata/hf_render.py", dir, name)
	}
	return golden{err: strings.TrimSpace(string(data)), isErr: true}
}

func checkAgainstGolden(t *testing.T, what string, want golden, got Prompt, err error) {
	t.Helper()
	switch {
	case want.isErr && err == nil:
		t.Errorf("%s rendered, the official template fails with %q:\n%s", what, want.err, got.Text)
	case want.isErr:
		var te *TemplateError
		if errors.As(err, &te) && te.Raised && !strings.Contains(want.err, te.Msg) {
			t.Errorf("%s raised %q, the official template raises %q", what, te.Msg, want.err)
		}
	case err != nil:
		t.Errorf("%s: %v", what, err)
	case got.Text != want.text:
		t.Errorf("%s differs from the official template:\n%s", what, diff(want.text, got.Text))
	}
}

// diff shows where two renders part.
func diff(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-80)
	return "first difference at byte " + itoa(i) +
		"\n want …" + quoteTail(want[from:], 200) +
		"\n  got …" + quoteTail(got[from:], 200)
}

func quoteTail(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	q, _ := json.Marshal(s)
	return string(q)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestGoldenContexts writes the template contexts the golden files were
// rendered from, when -update-contexts is given; without it, it checks
// that the committed contexts still match what the code builds.
func TestGoldenContexts(t *testing.T) {
	type entry struct {
		Name     string          `json:"name"`
		Template string          `json:"template"`
		Date     string          `json:"date"`
		Context  json.RawMessage `json:"context"`
	}
	var entries []entry
	for _, tut := range allTemplates() {
		jt := mustJinja(t, tut)
		for _, c := range goldenCases() {
			data, release, err := jt.context(c.conv, c.opts, jt.shape, nil)
			if err != nil {
				t.Fatalf("%s/%s: %v", tut.file, c.name, err)
			}
			for k, v := range data {
				if _, isFunc := v.(func(string) string); isFunc || k == "range" {
					delete(data, k)
				}
			}
			var b strings.Builder
			keys := []string{"messages", "tools", "add_generation_prompt", "bos_token", "eos_token", "enable_thinking"}
			b.WriteString("{")
			first := true
			for _, k := range keys {
				v, ok := data[k]
				if !ok {
					continue
				}
				if !first {
					b.WriteString(", ")
				}
				first = false
				writePyString(&b, k)
				b.WriteString(": ")
				if err := pyEncode(&b, v, 0, 0); err != nil {
					t.Fatal(err)
				}
			}
			b.WriteString("}")
			release()
			entries = append(entries, entry{Name: c.name, Template: tut.file, Date: c.opts.Date.Format("2006-01-02"), Context: json.RawMessage(b.String())})
		}
	}
	out, err := json.MarshalIndent(entries, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "contexts.json")
	if *updateContexts {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(old) != string(out)+"\n" {
		t.Fatalf("%s is stale: run go test -run TestGoldenContexts -update-contexts and python3 testdata/hf_render.py", path)
	}
}

// TestHandWrittenMatchesOfficial renders every case with each hand-written
// family and compares with what Jinja2 printed from the official template.
func TestHandWrittenMatchesOfficial(t *testing.T) {
	for _, tut := range officialTemplates {
		hand := newHandWritten(tut.family, readTemplate(t, tut.file), tut.specials)
		for _, c := range goldenCases() {
			t.Run(strings.TrimSuffix(tut.file, ".jinja")+"/"+c.name, func(t *testing.T) {
				got, err := hand.Render(c.conv, c.opts)
				if errors.Is(err, ErrToolsUnsupported) && !hand.NativeTools() && hasToolMessages(c.conv) {
					return // ChatML has no tools; the caller uses the text protocol
				}
				checkAgainstGolden(t, "hand-written "+tut.family, readGolden(t, tut.file, c.name), got, err)
			})
		}
	}
}

// TestJinjaMatchesOfficial renders every case with the Jinja fallback
// (gonja with HF's tojson, Python string methods and insertion-ordered
// dicts) and compares with Jinja2's output.
func TestJinjaMatchesOfficial(t *testing.T) {
	for _, tut := range allTemplates() {
		jt := mustJinja(t, tut)
		for _, c := range goldenCases() {
			t.Run(strings.TrimSuffix(tut.file, ".jinja")+"/"+c.name, func(t *testing.T) {
				got, err := jt.Render(c.conv, c.opts)
				if errors.Is(err, ErrToolsUnsupported) {
					if hasToolMessages(c.conv) {
						return // the template cannot express tools; nothing to compare
					}
				}
				checkAgainstGolden(t, "jinja", readGolden(t, tut.file, c.name), got, err)
			})
		}
	}
}

// TestParseChoosesFamily checks that each real template gets the family
// it should, which for the official ones also means that the hand-written
// renderer agreed with the template on every probe.
func TestParseChoosesFamily(t *testing.T) {
	for _, tut := range allTemplates() {
		t.Run(tut.file, func(t *testing.T) {
			src := readTemplate(t, tut.file)
			if got := Detect(src); got != tut.family {
				t.Errorf("Detect = %q, want %q", got, tut.family)
			}
			tpl, err := Parse(src, tut.specials)
			if err != nil {
				t.Fatal(err)
			}
			if tpl.Family() != tut.family {
				hand := newHandWritten(tut.family, src, tut.specials)
				jt := mustJinja(t, tut)
				t.Errorf("Parse chose %q, want %q (probe: %v)", tpl.Family(), tut.family, agree(hand, jt))
			}
		})
	}
}

// readTemplateNoT reads a template file outside of a test (fuzz seeds).
func readTemplateNoT(file string) string {
	data, err := os.ReadFile(filepath.Join("testdata", "templates", file))
	if err != nil {
		panic(err)
	}
	return string(data)
}
