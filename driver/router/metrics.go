package router

import (
	"time"

	"github.com/tetherllm/tether/llm"
)

// Metrics are one driver's counts since the router was made.
type Metrics struct {
	// Driver is the member's name.
	Driver  string          `json:"driver"`
	Privacy llm.PrivacyTier `json:"privacy,omitzero"`
	// Attempts counts requests sent to the driver (opening it included);
	// Successes and Failures split them, except streams the caller
	// stopped early, which are neither.
	Attempts  int `json:"attempts"`
	Successes int `json:"successes"`
	Failures  int `json:"failures"`
	// Fallbacks counts failures after which the router tried the next
	// driver.
	Fallbacks int `json:"fallbacks"`
	// Refused counts requests the privacy tier kept from the driver.
	Refused int `json:"refused"`
	// Latency is the total time of the successful attempts, from sending
	// the request to the whole answer.
	Latency      time.Duration `json:"latency_ns"`
	InputTokens  int           `json:"input_tokens"`
	OutputTokens int           `json:"output_tokens"`
	// CostUSD is the estimated cost of the answers at the driver's price.
	CostUSD float64 `json:"cost_usd"`
}

// MeanLatency is the mean time of a successful attempt, or 0 if none.
func (m Metrics) MeanLatency() time.Duration {
	if m.Successes == 0 {
		return 0
	}
	return m.Latency / time.Duration(m.Successes)
}
