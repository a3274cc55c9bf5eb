// Package think separates a model's reasoning from its answer.
//
// Reasoning models (Qwen3, DeepSeek-R1, QwQ, …) wrap their thinking in
// <think>…</think>. Often the chat template already put the opening
// <think> into the prompt, so the output starts inside the block and only
// the closing </think> appears. Some servers pull the thinking out into a
// separate field; many do not, or not always.
//
// [Strip] is the seed's strip_thinking_blocks, kept exactly for
// compatibility: it throws the thinking away. [Split] keeps it, and
// [Splitter] does the same on a stream whose tags may be cut at any byte.
//
// The rules of Split, which the Splitter follows on a stream:
//
//   - <think>…</think> is reasoning; an unclosed <think> makes the rest
//     reasoning. A <think> inside a block is reasoning too (blocks do not
//     nest, as in the seed).
//   - A bare </think> before any <think> means the template opened the
//     block: everything before it is reasoning.
//   - Later bare </think> tags are removed.
//   - Text is trimmed as a whole, as the seed does; each reasoning block is
//     trimmed, empty blocks are dropped, and blocks are joined by a blank
//     line.
//
// Split's text equals Strip's result, except after a leading bare
// </think> (Strip keeps what came before it as text) and in inputs where
// removing one tag joins the pieces of another, such as "<thi<think>x</think>nk>"
// (Strip searches again from the start after each removal; Split and the
// Splitter read the text once, left to right).
package think
