package llm

// TokenLogprob is one generated token with the natural logarithm of its
// probability, as OpenAI's logprobs report it.
type TokenLogprob struct {
	// Token is the token's text; Bytes its exact bytes, which can be part
	// of a UTF-8 character that the next token completes.
	Token   string  `json:"token"`
	Bytes   []byte  `json:"bytes,omitempty"`
	Logprob float64 `json:"logprob"`
	// Top holds the step's most likely tokens, most likely first, when
	// they were asked for.
	Top []TokenLogprob `json:"top_logprobs,omitempty"`
}
