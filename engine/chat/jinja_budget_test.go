package chat

import (
	"errors"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// hostileTemplates go past the evaluation budget on any conversation:
// each must be refused with ErrTemplateLimit, at Parse (whose probe
// renders run under the same budget) or at Render, and never crash,
// hang or exhaust memory. Each finishing is the bound on its time: the
// budget stops it.
var hostileTemplates = map[string]string{
	"recursion through an endmacro comment": `{% macro f() %}{# endmacro #}{{ f() }}{% endmacro %}{{ f() }}`,
	"recursion through an argument":         `{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}`,
	"recursion through an alias":            `{% macro m() %}{{ a() }}{% endmacro %}{% set a = m %}{{ m() }}`,
	"recursion through a namespace":         `{% set ns = namespace() %}{% macro m() %}{{ ns.f() }}{% endmacro %}{% set ns.f = m %}{{ m() }}`,
	"recursion through caller":              `{% macro m() %}{% call m() %}{{ caller() }}{% endcall %}{% endmacro %}{{ m() }}`,
	"recursion through a block":             `{% block a %}x{{ self.a() }}{% endblock %}`,
	"recursive loop":                        `{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}`,
	"recursion through a filter":            `{% macro m(x) %}{{ [x] | map('string') | join(m(x)) }}{% endmacro %}{{ m(1) }}`,
	"mutual recursion":                      `{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}`,
	"string repetition":                     `{% set s = 'a' * 2000000000 %}`,
	"repetition overflowing int":            `{{ 'ab' * 4611686018427387904 }}`,
	"nested ranges":                         `{% for i in range(65536) %}{% for j in range(65536) %}{% endfor %}{% endfor %}`,
	"nested ranges in a filter block":       `{% filter upper %}{% for i in range(65536) %}{% for j in range(65536) %}{% endfor %}{% endfor %}{% endfilter %}`,
	"nested ranges in a with block":         `{% with r = range(65536) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}{% endwith %}`,
	"nested ranges printing":                `{% for i in range(65536) %}{% for j in range(65536) %}{{ j }}{% endfor %}{% endfor %}`,
	"doubling concatenation":                `{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`,
	"doubling tilde":                        `{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}`,
	"doubling list":                         `{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}`,
	"list growth by append":                 `{% set l = [] %}{% for i in range(65536) %}{% for j in range(65536) %}{% set _ = l.append(j) %}{% endfor %}{% endfor %}`,
	"shared list printed":                   `{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}`,
	"shared list as json":                   `{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l | tojson }}`,
	"shared list joined":                    `{% set ns = namespace(l=['x']) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l | join(',') }}`,
	"shared list compared":                  `{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l ~ '' }}`,
	"deeply nested list":                    `{% set ns = namespace(l=[]) %}{% for i in range(65536) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}`,
	"dict that holds itself":                `{% set d = {} %}{% set d['a'] = d %}{{ d }}`,
	"namespace that holds itself":           `{% set ns = namespace(x=1) %}{% set ns.x = ns %}{{ ns }}`,
	"list that holds itself":                `{% set l = [1] %}{% set l[0] = l %}{{ l }}`,
	"join of a long list":                   `{% set s = 'x' * 1000000 %}{{ [s] * 1 + [s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s] | join(s) }}`,
	"ljust":                                 `{{ 'a'.ljust(2000000000) }}`,
	"slice filter":                          `{{ [1, 2, 3] | slice(2000000000) }}`,
	"batch filter":                          `{{ [1] | batch(2000000000, 'x') }}`,
	"round filter":                          `{{ 1.5 | round(2000000000) }}`,
	"center filter":                         `{{ 'a' | center(2000000000) }}`,
	"indent filter":                         `{% set s = '\n' * 1000000 %}{{ s | indent(1000) }}`,
	"format filter":                         `{{ '%2000000000s' | format('a') }}`,
	"format method":                         `{{ '{:>2000000000}'.format('a') }}`,
	"replace growth":                        `{% set s = 'a' * 1000000 %}{{ s.replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') }}`,
	"replace filter growth":                 `{% set s = 'a' * 1000000 %}{{ s | replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') }}`,
	"expandtabs":                            `{% set s = '\t' * 1000000 %}{{ s.expandtabs(1000) }}`,
	"loop over a long string":               `{% set s = 'a' * 30000000 %}{% for c in s %}{% endfor %}`,
	"output of a macro":                     `{% macro m() %}{% for i in range(65536) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}{% set s = m() %}`,
	"output of a set block":                 `{% set s %}{% for i in range(65536) %}{{ 'x' * 1000 }}{% endfor %}{% endset %}`,
	"output":                                `{% for i in range(65536) %}{{ 'x' * 1000 }}{% endfor %}`,
	"method on a long string in a loop":     `{% set s = 'a' * 30000000 %}{% for i in range(65536) %}{% set _ = s.replace('a', 'b') %}{% endfor %}`,
	"filter on a long string in a loop":     `{% set s = 'a' * 30000000 %}{% for i in range(65536) %}{% set _ = s | upper %}{% endfor %}`,
	"filter on a long list in a loop":       `{% set l = range(65536) | list %}{% for i in range(65536) %}{% set _ = l | sort | length %}{% endfor %}`,
	"comparison of long strings in a loop":  `{% set s = 'a' * 30000000 %}{% set t = 'a' * 30000000 %}{% for i in range(65536) %}{% if s == t %}{% endif %}{% endfor %}`,
	"search of a long string in a loop":     `{% set s = 'a' * 30000000 %}{% for i in range(65536) %}{% if 'b' in s %}{% endif %}{% endfor %}`,
}

func TestJinjaBudgetStopsHostileTemplates(t *testing.T) {
	conv := Conversation{Messages: []llm.Message{llm.UserMessage("Hi")}}
	for name, src := range hostileTemplates {
		t.Run(name, func(t *testing.T) {
			err := parseAndRender(src, conv)
			if !errors.Is(err, ErrTemplateLimit) {
				t.Fatalf("got %v, want an error matching ErrTemplateLimit", err)
			}
			var limit *LimitError
			var tplErr *TemplateError
			if !errors.As(err, &limit) || !errors.As(err, &tplErr) {
				t.Fatalf("%v: want a *LimitError inside a *TemplateError", err)
			}
		})
	}
}

func parseAndRender(src string, conv Conversation) error {
	tpl, err := Parse(src, Specials{})
	if err != nil {
		return err
	}
	_, err = tpl.Render(conv, Options{})
	return err
}

// A template that is hostile only on some conversations passes the load
// probes and is stopped when it renders one.
func TestJinjaBudgetStopsAtRender(t *testing.T) {
	src := `{% if messages | length > 5 %}{% set s = 'a' * 2000000000 %}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}`
	tpl, err := Parse(src, Specials{})
	if err != nil {
		t.Fatal(err)
	}
	short := Conversation{Messages: []llm.Message{llm.UserMessage("Hi")}}
	if p, err := tpl.Render(short, Options{}); err != nil || p.Text != "Hi" {
		t.Fatalf("short conversation: %q, %v", p.Text, err)
	}
	long := Conversation{}
	for range 6 {
		long.Messages = append(long.Messages, llm.UserMessage("Hi"))
	}
	if _, err := tpl.Render(long, Options{}); !errors.Is(err, ErrTemplateLimit) {
		t.Fatalf("long conversation: %v, want ErrTemplateLimit", err)
	}
	// A stopped render leaves nothing behind: the next has its own budget.
	if p, err := tpl.Render(short, Options{}); err != nil || p.Text != "Hi" {
		t.Fatalf("short conversation after a stopped one: %q, %v", p.Text, err)
	}
}

// What templates legitimately do within the budget still renders, as
// Jinja2 renders it.
func TestJinjaBudgetAllowsOrdinaryTemplates(t *testing.T) {
	conv := Conversation{Messages: []llm.Message{llm.UserMessage("Hi")}}
	for src, want := range map[string]string{
		`{% macro fact(n) %}{% if n > 1 %}{{ n * fact(n - 1) | int }}{% else %}1{% endif %}{% endmacro %}{{ fact(5) }}`:                        "120",
		`{% macro count(n) %}{% if n > 0 %}{{ count(n - 1) }}.{% endif %}{% endmacro %}{{ count(50) | length }}`:                               "50",
		`{{ 'ab' * 3 }}|{{ 'ab' * 0 }}|{{ 'ab' * -1 }}|{{ 2 * 3 }}|{{ 1.5 * 2 }}`:                                                              "ababab|||6|3.0",
		`{{ 'a' + 'b' }}|{{ 1 + 2 }}|{{ [1] + [2, 3] }}|{{ 'a' ~ 1 }}|{{ 1.5 + 1 }}`:                                                           "ab|3|[1, 2, 3]|a1|2.5",
		`{% set ns = namespace(l=[]) %}{% for i in range(3) %}{% set ns.l = ns.l + [i] %}{% endfor %}{{ ns.l }}`:                               "[0, 1, 2]",
		`{% set ns = namespace(a=1) %}{% set ns.b = [ns.a, 2] %}{{ ns.b | tojson }}`:                                                           `[1, 2]`,
		`{% for x in [[1, [2]], [3]] recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}{% endfor %}`:                  "123",
		`{% set a = 1 %}{% set b = 2 %}{{ a < b }}{{ a <= b }}{{ a > b }}{{ a >= b }}{{ a == b }}{{ a != b }}{{ a in [b] }}{{ a not in [b] }}`: "TrueTrueFalseFalseFalseTrueFalseTrue",
		`{% set s = 'abc' %}{% set t = 'b' %}{{ t in s }}{{ s < t }}{{ s == 'abc' }}{{ s > t }}`:                                               "TrueTrueTrueFalse",
		`{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}`:              "02",
		`{% set s %}a{{ 1 + 1 }}{% endset %}{{ s }}|{% filter upper %}b{{ 'c' ~ 'd' }}{% endfilter %}`:                                         "a2|BCD",
		`{% with x = 'a' + 'b' %}{{ x }}{% endwith %}|{% for x in 'ab' %}{{ loop.index }}{{ x }}{% else %}none{% endfor %}`:                    "ab|1a2b",
		`{{ 'x'.ljust(3, '-') }}|{{ 'a b' | replace(' ', '__') }}|{{ ['a', 'b'] | join(', ') }}`:                                               "x--|a__b|a, b",
	} {
		tpl, err := Parse(src, Specials{})
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		p, err := tpl.Render(conv, Options{})
		if err != nil || p.Text != want {
			t.Errorf("%s: got %q, %v; want %q", src, p.Text, err, want)
		}
	}
}

// The depth bound is below what exhausts the Go stack even when each
// level of recursion nests as deeply as a template may.
func TestJinjaBudgetDeepRecursionWithDeepExpressions(t *testing.T) {
	deep := strings.Repeat("[", 400) + "m()" + strings.Repeat("]", 400)
	src := `{% macro m() %}{{ ` + deep + ` }}{% endmacro %}{{ m() }}`
	if err := parseAndRender(src, Conversation{Messages: []llm.Message{llm.UserMessage("Hi")}}); !errors.Is(err, ErrTemplateLimit) {
		t.Fatalf("got %v, want ErrTemplateLimit", err)
	}
}

// The budget grows with the conversation: every real template renders a
// long conversation, and one with a very long message, through the Jinja
// engine.
func TestJinjaBudgetAllowsLongConversations(t *testing.T) {
	var long Conversation
	for i := range 2000 {
		long.Messages = append(long.Messages, llm.UserMessage("question "+strings.Repeat("q", i%50)), llm.AssistantMessage("answer"))
	}
	long.Messages = append(long.Messages, llm.UserMessage("last"))
	big := Conversation{Messages: []llm.Message{llm.UserMessage(strings.Repeat("Lorem ipsum dolor sit amet. ", 300000))}}
	for _, tut := range allTemplates() {
		jt := mustJinja(t, tut)
		for name, conv := range map[string]Conversation{"4001 messages": long, "an 8 MB message": big} {
			p, err := jt.Render(conv, Options{AddGenerationPrompt: true, Date: goldenDate})
			if err != nil {
				t.Errorf("%s, %s: %v", tut.file, name, err)
			} else if len(p.Text) < len(conv.Messages[len(conv.Messages)-1].Content) {
				t.Errorf("%s, %s: %d bytes rendered", tut.file, name, len(p.Text))
			}
		}
	}
}
