package grammar_test

import (
	"errors"
	"fmt"

	"github.com/tetherllm/tether/engine/grammar"
)

func ExampleFromJSONSchema() {
	g, err := grammar.FromJSONSchema([]byte(`{
		"type": "object",
		"properties": {
			"city": {"type": "string", "maxLength": 20},
			"days": {"type": "integer", "minimum": 1, "maximum": 14}
		},
		"required": ["city", "days"],
		"additionalProperties": false
	}`), grammar.SchemaOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Accepts(`{"city": "Oslo", "days": 3}`))
	fmt.Println(g.Accepts(`{"city": "Oslo", "days": 30}`))
	fmt.Println(g.Accepts(`{"days": 3, "city": "Oslo"}`)) // members in schema order

	_, err = grammar.FromJSONSchema([]byte(`{"type": "object", "properties": {"n": {"type": "integer", "not": {"const": 5}}}}`), grammar.SchemaOptions{})
	var se *grammar.SchemaError
	if errors.As(err, &se) {
		fmt.Println(se.Path, "—", se.Reason)
	}
	// Output:
	// true
	// false
	// false
	// /properties/n/not — keyword "not" is not supported
}
