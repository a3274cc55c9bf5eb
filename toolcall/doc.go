// Package toolcall is the text tool-call protocol, for servers and models
// without native tool calls. It is compatible with the seed.
//
// A call is a JSON object inside a <tool_call> block; a result goes back
// to the model inside a <tool_result> block:
//
//	<tool_call>
//	{"name":"glob","input":{"pattern":"*.go"}}
//	</tool_call>
//
//	<tool_result name="glob">
//	main.go
//	</tool_result>
//
// [Parse] finds calls in model output in every form small models produce:
// <tool_call> blocks with or without the closing tag, ```json fences with
// or without the closing fence, the arguments under "input", "arguments"
// (an object, or a string holding one) or "parameters", several calls in
// one answer, mixed forms. A block that is not a call (bad JSON, no name,
// a ```json example) stays in the text, and parsing goes on after it.
// [Stream] does the same on output that arrives in pieces.
//
// [RenderCall] and [RenderResult] write the history a text-mode model
// reads; [RenderTools] describes the tools in its system prompt, and
// [CutSystem] removes the verbose tool section the seed's callers add.
// [IDs] gives call ids unique for a driver's lifetime.
package toolcall
