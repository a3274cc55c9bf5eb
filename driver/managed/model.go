package managed

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/llm"
)

// modelFile is what the driver learns from the model file before it
// launches anything: that it exists and is readable, its size for the
// start-up budget, and for GGUF files that it is valid and how long a
// context it was trained for.
type modelFile struct {
	path string
	// size is the file's size in bytes, or -1 (a model directory).
	size int64
	// trainedContext is <arch>.context_length from GGUF metadata, or 0.
	trainedContext int
}

// inspectModel checks the model before a server is started for it, so a
// missing or corrupt file is reported as such (an *llm.ModelFileError)
// rather than as a server that died.
func inspectModel(path string) (modelFile, error) {
	if path == "" {
		return modelFile{}, &llm.ModelFileError{Path: "(none)", Reason: "no model file given"}
	}
	info, err := os.Stat(path)
	if err != nil {
		reason := "cannot read it"
		if errors.Is(err, fs.ErrNotExist) {
			reason = "no such file"
		}
		return modelFile{}, &llm.ModelFileError{Path: path, Reason: reason, Err: unwrapPath(err)}
	}
	abs, _ := filepath.Abs(path)
	if info.IsDir() { // vLLM and friends take model directories
		return modelFile{path: abs, size: -1}, nil
	}
	if !info.Mode().IsRegular() {
		// Reading a FIFO or a device may block for ever, or never end.
		return modelFile{}, &llm.ModelFileError{Path: path, Reason: "not a regular file (" + info.Mode().Type().String() + ")"}
	}
	mf := modelFile{path: abs, size: info.Size()}
	if !strings.EqualFold(filepath.Ext(path), ".gguf") {
		f, err := os.Open(path)
		if err != nil {
			return modelFile{}, &llm.ModelFileError{Path: path, Reason: "cannot read it", Err: unwrapPath(err)}
		}
		f.Close()
		return mf, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return modelFile{}, &llm.ModelFileError{Path: path, Reason: "not a valid GGUF file", Err: err}
	}
	defer f.Close()
	if n, err := gguf.ArchGet[uint32](f, "context_length"); err == nil {
		mf.trainedContext = int(n)
	}
	return mf, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path the
// ModelFileError already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// stem is the model's name for logs and servers without an alias.
func (m modelFile) stem() string { return gguf.ModelName(m.path) }
