package chat

import (
	"strings"
	"testing"
)

func TestDetectNearMisses(t *testing.T) {
	qwen25 := readTemplate(t, "qwen2.5-7b-instruct.jinja")
	qwen3 := readTemplate(t, "qwen3-0.6b.jinja")
	llama32 := readTemplate(t, "llama-3.2-3b-instruct.jinja")
	for _, tc := range []struct {
		name, template, want string
	}{
		{"empty", "", FamilyChatML},
		{"blank", " \n\t", FamilyChatML},
		{"generic chatml", `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`, FamilyChatML},
		{"generic chatml, other spelling", "{%- for message in messages -%}\n{{- \"<|im_start|>\" + message.role + \"\\n\" + message.content + \"<|im_end|>\" + \"\\n\" -}}\n{%- endfor -%}\n{%- if add_generation_prompt -%}{{- \"<|im_start|>assistant\\n\" -}}{%- endif -%}", FamilyChatML},
		{"chatml with a default system (Qwen2)", `{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`, FamilyJinja},
		{"chatml that forgets the generation prompt", `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}`, FamilyJinja},
		{"qwen2.5 with another default system (Qwen2.5-Math)", strings.ReplaceAll(qwen25, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", "Please reason step by step."), FamilyJinja},
		{"qwen2.5 with thinking added", strings.Replace(qwen25, "{%- endif %}\n", "{%- endif %}\n{{- '<think>' }}\n", 1), FamilyJinja},
		{"qwen3 with XML function calls (Qwen3-Coder style)", qwen3 + "{# <function=name> #}", FamilyJinja},
		{"qwen3 with images", qwen3 + "{# <|vision_start|><|image_pad|> #}", FamilyJinja},
		{"qwen3 without the thinking switch", strings.Replace(qwen3, "enable_thinking is defined and enable_thinking is false", "false", 1), FamilyJinja},
		{"qwen3 text as qwen2.5 would miss", strings.Replace(qwen3, "multi_step_tool", "multi_step", -1), FamilyJinja},
		{"llama 3.2 vision", llama32 + "{# <|image|> #}", FamilyJinja},
		{"llama 3.2 without tool support", strings.Replace(llama32, "Environment: ipython", "", 1), FamilyJinja},
		{"llama 3.0", `{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}`, FamilyJinja},
		// Seed bug 40: the seed gave Llama 2 the Llama 3 template because
		// its file name said "llama".
		{"llama 2", readTemplate(t, "meta-llama-llama-2-13b-chat.jinja"), FamilyJinja},
		{"qwq", readTemplate(t, "qwen-qwq-32b.jinja"), FamilyJinja},
		{"deepseek r1 distill", readTemplate(t, "deepseek-r1-distill-qwen-32b.jinja"), FamilyJinja},
		{"mistral", readTemplate(t, "mistralai-mistral-nemo-instruct-2407.jinja"), FamilyJinja},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect(tc.template); got != tc.want {
				t.Errorf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

// A template that carries every fingerprint of a family but prints
// something else must not get the hand-written renderer: Parse checks the
// two against each other and keeps the template.
func TestParseDistrustsLookAlikes(t *testing.T) {
	for _, tc := range []struct{ name, file, old, new, family string }{
		{"qwen2.5 without the newline after a tool turn", "qwen2.5-7b-instruct.jinja",
			`{{- '\n</tool_response>' }}`, `{{- '\n</tool_response>\n' }}`, FamilyQwen25},
		{"qwen3 keeping all reasoning", "qwen3-0.6b.jinja",
			`{%- if loop.index0 > ns.last_query_index %}`, `{%- if loop.index0 > ns.last_query_index or reasoning_content %}`, FamilyQwen3},
		{"llama 3.2 with the date spelled otherwise", "llama-3.2-3b-instruct.jinja",
			`strftime_now("%d %b %Y")`, `strftime_now("%Y-%m-%d")`, FamilyLlama3},
		{"llama 3.3 with system text untrimmed", "llama-3.3-70b-instruct.jinja",
			`{%- set system_message = messages[0]['content']|trim %}`, `{%- set system_message = messages[0]['content'] %}`, FamilyLlama3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := readTemplate(t, tc.file)
			if !strings.Contains(src, tc.old) {
				t.Fatalf("test bug: %q not in %s", tc.old, tc.file)
			}
			changed := strings.Replace(src, tc.old, tc.new, 1)
			if got := Detect(changed); got != tc.family {
				t.Fatalf("Detect = %q, want %q (the look-alike must pass the fingerprint)", got, tc.family)
			}
			tpl, err := Parse(changed, Specials{BOS: "<|begin_of_text|>"})
			if err != nil {
				t.Fatal(err)
			}
			if tpl.Family() != FamilyJinja {
				t.Errorf("Parse chose %q for a template that renders differently", tpl.Family())
			}
		})
	}
}
