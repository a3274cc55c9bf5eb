package chat

import "testing"

// BenchmarkRender compares a hand-written renderer with the Jinja engine
// on the same official template and a tool-using conversation.
func BenchmarkRender(b *testing.B) {
	c := goldenCases()
	var conv goldenCase
	for _, x := range c {
		if x.name == "tool_round_trip_answered" {
			conv = x
		}
	}
	for _, tut := range officialTemplates[1:3] {
		src := readTemplateNoT(tut.file)
		jt, err := newJinja(src, tut.specials)
		if err != nil {
			b.Fatal(err)
		}
		for name, tpl := range map[string]Template{"hand": newHandWritten(tut.family, src, tut.specials), "jinja": jt} {
			b.Run(tut.family+"/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := tpl.Render(conv.conv, conv.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := readTemplateNoT("qwen3-0.6b.jinja")
	for b.Loop() {
		if _, err := Parse(src, qwenSpecials); err != nil {
			b.Fatal(err)
		}
	}
}
