package llm

// Served names the driver that produced a response when a router chose
// it among several, so that callers learn which model answered, how large
// its context window is and what the answer cost — not those of the
// route's first driver.
type Served struct {
	// Driver is the name the route gives the driver ("local", "team").
	Driver string `json:"driver"`
	// Model and Backend are the answering driver's Info values.
	Model   string `json:"model,omitempty"`
	Backend string `json:"backend,omitempty"`
	// ContextWindow is the answering driver's context window in tokens.
	ContextWindow int         `json:"context_window,omitempty"`
	Privacy       PrivacyTier `json:"privacy,omitzero"`
	// Attempts counts the drivers tried for this request, the answering
	// one included: 1 when the first driver answered.
	Attempts int `json:"attempts"`
	// CostUSD is the estimated cost of the answer at the driver's
	// configured prices; 0 when it has none.
	CostUSD float64 `json:"cost_usd"`
}
