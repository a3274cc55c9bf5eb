package agent

import (
	"context"
	"encoding/json"

	"github.com/tetherllm/tether/llm"
)

// Tool is one thing the agent can do for the model: read a file, search,
// run a command. The loop offers every tool's Def to the model and runs
// the calls the model makes, one at a time, in the order it made them.
type Tool interface {
	// Def describes the tool to the model: its name, what it does and
	// the JSON Schema of its input.
	Def() llm.ToolDef
	// Run executes one call with the model's input. An error is the
	// model's to read (a missing file, a bad pattern): the loop sends it
	// back as an error result and goes on. Run returns promptly once ctx
	// is done.
	Run(ctx context.Context, input json.RawMessage) (string, error)
}
