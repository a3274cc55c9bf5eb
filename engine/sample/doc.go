// Package sample turns a model's logits into the next token, and decides
// when generation stops.
//
// A [Sampler] applies the filters of llama.cpp's default sampler chain, in
// its order:
//
//	logit bias → penalties → top-k → top-p → min-p → temperature → draw
//
// with llama.cpp's semantics for each step (see the field docs of
// [Params]). A temperature of zero or less is greedy decoding: the most
// likely token after bias and penalties. Draws come from a PCG generator
// seeded by [Params.Seed], so the same seed, logits and history give the
// same tokens; they are not the same draws as llama.cpp's mt19937.
//
// A [StopMatcher] watches the generated text for stop strings, across
// token boundaries: it holds back text that could be the start of a stop
// string (and incomplete UTF-8) and never emits the stop string itself.
package sample
