package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Every field a request may carry is listed here with what tether does
// with it, so that nothing is ignored by accident (serve/doc.go promises
// it) and docs/serve.md can be checked against the code: a field is
// supported (honoured), ignored (accepted, with the reason it is
// harmless to ignore), or refused (a 400 that names it, unless its value
// asks for nothing tether lacks). A field not listed is a 400 too.
//
// To support a refused field, give the request struct a field for it
// and change its entry here to supported; the tests then ask for
// docs/serve.md to say so.

// fieldStatus is what tether does with a request field.
type fieldStatus int

const (
	fieldSupported fieldStatus = iota
	fieldIgnored
	fieldRefused
)

func (s fieldStatus) String() string {
	switch s {
	case fieldSupported:
		return "supported"
	case fieldIgnored:
		return "ignored"
	}
	return "refused"
}

// requestField is one field of a request object.
type requestField struct {
	name   string
	status fieldStatus
	// why says, for an ignored or refused field, why; a refusal's message
	// ends with it.
	why string
	// neutral lists, for a refused field, the values (JSON) that ask for
	// nothing tether lacks (its default, or "off"): with one of them, or
	// null, the field is accepted as if it were absent.
	neutral []string
	// elems are the fields of each object of an array field; props the
	// fields of an object field. Nil leaves the value unchecked here.
	elems, props []requestField
}

func supported(name string) requestField { return requestField{name: name, status: fieldSupported} }

func ignored(name, why string) requestField {
	return requestField{name: name, status: fieldIgnored, why: why}
}

func refused(name, why string, neutral ...string) requestField {
	return requestField{name: name, status: fieldRefused, why: why, neutral: neutral}
}

// samplingRequestFields are the fields of samplingFields and the
// llama.cpp sampling and server options neither kind of request honours.
var samplingRequestFields = []requestField{
	supported("temperature"), supported("top_p"), supported("top_k"), supported("min_p"),
	supported("repeat_penalty"), supported("repeat_last_n"), supported("frequency_penalty"), supported("presence_penalty"),
	supported("seed"), supported("max_tokens"), supported("max_completion_tokens"), supported("n_predict"),
	supported("stop"), supported("logit_bias"), supported("ignore_eos"), supported("stream"),
	{name: "stream_options", status: fieldSupported, props: []requestField{
		supported("include_usage"),
		ignored("include_obfuscation", "obfuscation pads chunks against length side channels on the internet; a local stream has nothing to pad"),
	}},
	supported("n"), supported("grammar"), supported("json_schema"),
	{name: "response_format", status: fieldSupported, props: []requestField{
		supported("type"),
		{name: "json_schema", status: fieldSupported, props: []requestField{
			supported("name"), supported("schema"), supported("strict"),
			ignored("description", "it describes the format to the model; tether enforces the schema itself"),
		}},
	}},

	ignored("user", "an end-user id for OpenAI's abuse monitoring; a local server has none"),
	ignored("safety_identifier", "an end-user id for OpenAI's abuse monitoring; a local server has none"),
	ignored("cache_prompt", "tether always reuses the slot's cached prefix; the answer is the same either way"),
	ignored("id_slot", "a slot choice only schedules; tether's queue assigns slots and any slot gives the same answer"),

	refused("typical_p", "locally typical sampling is not implemented", "1"),
	refused("tfs_z", "tail-free sampling is not implemented", "1"),
	refused("top_n_sigma", "top-n-sigma sampling is not implemented", "-1"),
	refused("mirostat", "mirostat sampling is not implemented", "0"),
	refused("mirostat_tau", "mirostat sampling is not implemented", "5"),
	refused("mirostat_eta", "mirostat sampling is not implemented", "0.1"),
	refused("xtc_probability", "XTC sampling is not implemented", "0"),
	refused("xtc_threshold", "XTC sampling is not implemented", "0.1"),
	refused("dry_multiplier", "DRY sampling is not implemented", "0"),
	refused("dry_base", "DRY sampling is not implemented", "1.75"),
	refused("dry_allowed_length", "DRY sampling is not implemented", "2"),
	refused("dry_penalty_last_n", "DRY sampling is not implemented", "-1"),
	refused("dry_sequence_breakers", "DRY sampling is not implemented", `["\n",":","\"","*"]`),
	refused("dynatemp_range", "dynamic temperature is not implemented", "0"),
	refused("dynatemp_exponent", "dynamic temperature is not implemented", "1"),
	refused("penalize_nl", "the newline penalty switch is not implemented", "false"),
	refused("min_keep", "min_keep is not implemented", "0"),
	refused("samplers", "the sampler chain is fixed"),
	refused("n_probs", "llama.cpp's probabilities are not sent; use logprobs and top_logprobs", "0"),
	refused("post_sampling_probs", "probabilities after sampling are not computed; logprobs gives the model's", "false"),
	refused("n_keep", "tether never shifts the context; a request that does not fit is refused", "0"),
	refused("n_discard", "tether never shifts the context; a request that does not fit is refused", "0"),
	refused("t_max_predict_ms", "time limits on generation are not implemented", "0"),
	refused("grammar_lazy", "a grammar applies from the answer's start; lazy grammars are not implemented", "false"),
	refused("grammar_triggers", "a grammar applies from the answer's start; lazy grammars are not implemented", "[]"),
	refused("preserved_tokens", "grammars match text, never special tokens", "[]"),
	refused("return_tokens", "answers carry text, not token ids", "false"),
	refused("timings_per_token", "timings come once, with the last chunk", "false"),
	refused("response_fields", "answers have a fixed shape"),
	refused("lora", "LoRA adapters are not supported", "[]"),
}

// chatFields are the fields of a chat completion request.
var chatFields = slices.Concat(samplingRequestFields, chatOwnFields)

// chatOwnFields are the fields only chat completions have.
var chatOwnFields = []requestField{
	supported("model"),
	{name: "messages", status: fieldSupported, elems: messageFields},
	{name: "tools", status: fieldSupported, elems: toolFields},
	supported("tool_choice"),
	supported("parallel_tool_calls"),
	{name: "chat_template_kwargs", status: fieldSupported, props: []requestField{supported("enable_thinking")}},

	ignored("store", "OpenAI keeps stored completions for its dashboard and evals; tether stores nothing, and the answer is the same"),
	ignored("metadata", "tags for OpenAI's stored completions; tether stores nothing"),
	ignored("service_tier", "one local tier; OpenAI's tiers change price and latency, not the answer"),
	ignored("prompt_cache_key", "tether reuses a slot's cached prefix without a key"),

	supported("logprobs"), supported("top_logprobs"),
	refused("functions", `the legacy function calling (use "tools")`),
	refused("function_call", `the legacy function calling (use "tool_choice")`),
	refused("audio", "the model reads and writes text only"),
	refused("modalities", "the model writes text only", `["text"]`),
	refused("prediction", "predicted outputs are not implemented"),
	refused("web_search_options", "there is no web search"),
	refused("reasoning_effort", `reasoning effort cannot be set; chat_template_kwargs.enable_thinking turns thinking on or off`),
	refused("verbosity", "verbosity cannot be set"),
	refused("reasoning_format", "reasoning always comes in reasoning_content", `"auto"`, `"deepseek"`),
	refused("parse_tool_calls", "tool calls are always parsed; tool_choice \"none\" leaves the tools out", "true"),
	refused("add_generation_prompt", "the generation prompt is always added", "true"),
	refused("chat_template", "the chat template is the model's own"),
}

// messageFields are the fields of a chat message.
var messageFields = []requestField{
	supported("role"), supported("content"), supported("name"), supported("tool_calls"), supported("tool_call_id"),
	supported("reasoning_content"),
	ignored("refusal", "an OpenAI model's refusal text; the content beside it is what the model said"),
	ignored("annotations", "citations of OpenAI's web search, which the model did not write"),
	refused("function_call", `the legacy function calling (use "tool_calls")`),
	refused("audio", "the model reads and writes text only"),
}

// toolFields are the fields of a tool definition.
var toolFields = []requestField{
	supported("type"),
	{name: "function", status: fieldSupported, props: []requestField{
		supported("name"), supported("description"), supported("parameters"),
		supported("strict"),
	}},
}

// completionFields are the fields of a text completion request.
var completionFields = slices.Concat(samplingRequestFields, completionOwnFields)

// completionOwnFields are the fields only text completions have.
var completionOwnFields = []requestField{
	supported("model"), supported("prompt"), supported("echo"),
	supported("logprobs"),
	refused("suffix", "fill in the middle is not supported", `""`),
	refused("best_of", "one candidate per request", "1"),
}

// tokenizeFields and detokenizeFields are the fields of POST /tokenize
// and /detokenize.
var (
	tokenizeFields   = []requestField{supported("content"), supported("add_special"), supported("parse_special"), supported("with_pieces")}
	detokenizeFields = []requestField{supported("tokens")}
)

// checkFields applies fields to a request body already known to decode:
// an unknown field, or a refused one with a value that asks for what
// tether lacks, is the 400 that names it.
func checkFields(data []byte, fields []requestField) *apiError {
	return checkObject(data, fields, "")
}

func checkObject(data []byte, fields []requestField, prefix string) *apiError {
	var refusal *apiError
	eachField(data, func(name string, value []byte) bool {
		refusal = checkField(name, value, fields, prefix)
		return refusal == nil
	})
	return refusal
}

// checkField checks one field of an object: whether it is listed, and
// for a refused one its value, and the fields inside it.
func checkField(name string, value []byte, fields []requestField, prefix string) *apiError {
	param := prefix + name
	i := slices.IndexFunc(fields, func(f requestField) bool { return f.name == name })
	if i < 0 {
		e := badRequest(param, "unknown field %s: tether serve neither honours nor knowingly ignores it (docs/serve.md lists the fields it knows)", quoteJSON(param))
		e.Code = "unknown_parameter"
		return e
	}
	f := fields[i]
	switch {
	case f.status == fieldRefused && !neutral(value, f.neutral):
		e := badRequest(param, "%s = %s is not supported by tether serve: %s", param, snippet(value), f.why)
		e.Code = "unsupported_parameter"
		return e
	case f.props != nil:
		return checkObject(value, f.props, param+".")
	case f.elems != nil:
		var refusal *apiError
		eachElem(value, func(j int, el []byte) bool {
			refusal = checkObject(el, f.elems, fmt.Sprintf("%s[%d].", param, j))
			return refusal == nil
		})
		return refusal
	}
	return nil
}

// snippet is a value for a message: compact, and cut if long.
func snippet(value json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, value) != nil {
		return "…"
	}
	const limit = 60
	if b.Len() > limit {
		return string(bytes.ToValidUTF8(b.Bytes()[:limit], nil)) + "…"
	}
	return b.String()
}

// neutral reports whether value is null or one of the values that ask
// for nothing; numbers compare by value (1 and 1.0 are alike).
func neutral(value json.RawMessage, values []string) bool {
	var v any
	if json.Unmarshal(value, &v) != nil {
		return false
	}
	if v == nil {
		return true
	}
	for _, n := range values {
		var w any
		if json.Unmarshal([]byte(n), &w) == nil && reflect.DeepEqual(v, w) {
			return true
		}
	}
	return false
}

// decodeRequest reads a request body into v and checks it against
// fields.
func decodeRequest(data []byte, v any, fields []requestField) *apiError {
	if e := decodeJSON(data, v); e != nil {
		return e
	}
	return checkFields(bytes.TrimSpace(data), fields)
}

// fieldNames lists the names of fields with status, for the tests and
// the documentation check.
func fieldNames(fields []requestField, status fieldStatus) []string {
	var names []string
	for _, f := range fields {
		if f.status == status {
			names = append(names, f.name)
		}
	}
	slices.Sort(names)
	return names
}

// jsonFieldNames lists the JSON names of a struct's fields, those of
// embedded structs included.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			names = append(names, jsonFieldNames(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
