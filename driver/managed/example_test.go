package managed_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/llm"
)

// Launch checks the model file before it starts anything, and its errors
// are typed: here the file is missing, so no server is started and the
// caller learns it is the model file's fault (the CLI exits 3). With a
// real file, Launch returns a driver whose Complete and Stream talk to the
// server (see the package documentation), and Close stops it.
func ExampleLaunch() {
	d, err := managed.Launch(context.Background(), managed.Options{Model: "/models/missing.gguf", Backend: "tether"})
	var bad *llm.ModelFileError
	switch {
	case errors.As(err, &bad):
		fmt.Println("model file:", bad.Reason)
	case err != nil:
		fmt.Println("launch:", err)
	default:
		defer d.Close() // SIGTERM, grace, SIGKILL: the server never outlives us
		fmt.Println("serving", d.Info().Model)
	}
	// Output:
	// model file: no such file
}
