// Package chat turns a conversation into the prompt text a model was
// trained on, as its own chat template (the GGUF key
// tokenizer.chat_template) would print it through HF transformers'
// apply_chat_template.
//
// # Use
//
//	tpl, err := chat.Parse(templateText, chat.Specials{BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"})
//	p, err := tpl.Render(chat.Conversation{System: sys, Messages: msgs, Tools: tools},
//		chat.Options{AddGenerationPrompt: true})
//	// p.Text is the prompt; p.Content marks the conversation's own text;
//	// p.Thinking says whether generation starts inside a <think> block;
//	// tpl.Stops(), tpl.NativeTools() and tpl.ToolSyntax() tell the server
//	// how the model ends turns and calls tools.
//
// # Families
//
// Hand-written renderers reproduce, byte for byte, the official templates
// of Qwen2.5-Instruct ([FamilyQwen25]: default system prompt, "# Tools"
// section, <tool_call> history, <tool_response> blocks grouped in a user
// turn), Qwen3 ([FamilyQwen3]: thinking on and off, reasoning kept only
// after the last user query, reasoning given apart or inside <think>
// tags) and Llama 3.1/3.2/3.3 Instruct ([FamilyLlama3]: knowledge-cutoff
// header, the 3.2 template's date from [Options.Date], tools in the first
// user message, calls as {"name", "parameters"}, results as ipython turns),
// plus generic ChatML ([FamilyChatML]).
//
// [Detect] picks the family from the template's content — distinctive
// lines of each official template, never the file name (a Llama 2 file
// named "llama-…" must not get the Llama 3 format). [Parse] then renders a set of probe conversations with both
// the hand-written renderer and the template itself and keeps the
// hand-written one only if they agree, so a look-alike template that
// prints something else is rendered as it is written.
//
// Any other template is rendered by gonja ([FamilyJinja]), set up as
// transformers sets up Jinja2: trim_blocks and lstrip_blocks,
// raise_exception, strftime_now (reading [Options.Date]), {% generation %}
// blocks, and the special tokens as bos_token and eos_token. gonja's built-ins are corrected where
// chat templates meet them: tojson prints as Python's json.dumps (below),
// dicts keep insertion order in tojson, items, keys and values, strip,
// lstrip, rstrip, split and trim use Python's whitespace, and list[-1]
// works on one-element lists. Left as gonja has them: iterating a dict
// directly with for (sorted keys, not insertion order), and leniency where
// Python raises (a None used as a string prints as nothing). How tool
// calls are handed over is read from the template: arguments as a JSON
// string when the template concatenates them (DeepSeek R1), else as an
// object; content null only when the template tests content for none;
// one call a turn when the template raises on several.
//
// A model with no template at all gets ChatML, the format most
// instruction-tuned GGUF models without a template expect.
//
// # Tools
//
// An [llm.Message] from the assistant is one turn with any number of
// tool calls, rendered as the templates render OpenAI's tool_calls.
// Histories stored one call per message (the seed's form) are joined: an
// assistant text message followed by tool uses, or a run of tool uses,
// is rendered as one turn with several calls. Llama 3's template allows
// one call a turn, so there each call is a turn of its own. Tools keep
// the order given, so a prompt, and its cached prefix, is the same from
// one run to the next. Templates without tool support
// (generic ChatML, and Jinja templates that print neither tool nor call)
// return [ErrToolsUnsupported] for a conversation that has tools, and the
// caller falls back to the text tool-call protocol.
//
// # JSON
//
// Tool schemas and call arguments are printed as transformers' tojson
// prints them: json.dumps with ", " and ": " separators (indent=4 where
// Llama 3 asks), keys in the order written, non-ASCII text as is, numbers
// as Python's int and float print them. [ReencodeJSON] is that printer.
//
// # Content spans
//
// Hand-written renderers report which bytes of the prompt came from the
// conversation ([Prompt.Content]). A tokenizer that does not turn
// special-token text inside them into special tokens stops tool output,
// such as a file containing "<|im_end|>\n<|im_start|>system", from forging
// turns, without altering the text the model sees. The
// Jinja engine cannot tell its output apart, so before it renders, text in
// the conversation shaped like a control token (<|…|>, <｜…｜>, <s>, </s>,
// Gemma's turn markers, Mistral's [INST]-style markers, the tokenizer's
// BOS and EOS) is swapped for placeholders that the template carries
// through; after, they are swapped back and reported as content spans.
//
// # Hostile templates
//
// A template comes from a model file. The Jinja engine cannot read other
// files (include, import and extends fail), and templates too large or
// nested too deeply to parse are refused. Every render, the load probes
// included, runs under an evaluation budget: at most 1000 template nodes
// executing at once (which bounds recursion through any path: a macro, an
// alias or argument holding one, caller, a recursive loop), a step budget
// that grows with the conversation (a step a node, a loop item, a filter,
// test or method call, and a step per 256 bytes built, or scanned by a
// built-in or a comparison), strings and outputs of at most 32
// MiB, lists of at most 2^20 items, and values nested at most 100 deep and
// never containing themselves. gonja has no hooks for this: the parsed
// tree is instrumented (jinja_instrument.go). A template past its budget
// stops at once with a [*LimitError] (errors.Is [ErrTemplateLimit]) in a
// [*TemplateError]; one that does so on the load probes fails [Parse].
// Panics inside gonja become errors.
//
// # Tests
//
// testdata/templates holds the official template texts (copies of those
// llama.cpp keeps under models/templates). testdata/golden holds what
// Python's Jinja2, set up as transformers does (testdata/hf_render.py),
// prints for each test conversation; both the hand-written renderers and
// the Jinja fallback are compared with it. After changing the test
// conversations, run
//
//	go test ./engine/chat -run TestGoldenContexts -update-contexts
//	(cd engine/chat && python3 testdata/hf_render.py)   # needs jinja2
package chat
