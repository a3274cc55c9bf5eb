// Command tether runs large language models locally for programs and
// people: it launches and supervises local inference servers, serves GGUF
// models with its own pure-Go engine, and talks to both.
package main

import (
	"os"

	"github.com/tetherllm/tether/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
