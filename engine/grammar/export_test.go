package grammar

// The test grammars, for the benchmarks of package grammar_test.
const (
	JSONGBNFForTest   = jsonGBNF
	SchemaGBNFForTest = schemaGBNF
)
