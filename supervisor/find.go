package supervisor

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// Find resolves a server program. A name without a path separator is looked
// up on PATH; anything else is taken as a path to an executable file. When
// the program is missing or not executable, Find returns an
// [*llm.BinaryNotFoundError] carrying hint, which tells the user how to
// install it. A program found only through a relative PATH entry (such as
// ".") is refused, as os/exec does.
func Find(program, hint string) (string, error) {
	if program == "" {
		return "", &llm.BinaryNotFoundError{Name: "(empty program name)", Where: "PATH", Hint: hint}
	}
	if !strings.ContainsRune(program, filepath.Separator) && !strings.ContainsRune(program, '/') {
		path, err := exec.LookPath(program)
		if err != nil { // exec.ErrDot included: never run a program found through "."
			return "", &llm.BinaryNotFoundError{Name: program, Where: "PATH", Hint: hint}
		}
		return path, nil
	}
	notFound := &llm.BinaryNotFoundError{Name: filepath.Base(program), Where: program, Hint: hint}
	info, err := os.Stat(program)
	if err != nil || !info.Mode().IsRegular() || !isExecutable(info.Mode()) {
		return "", notFound
	}
	abs, err := filepath.Abs(program)
	if err != nil {
		return "", notFound
	}
	return abs, nil
}

func isExecutable(mode fs.FileMode) bool {
	if os.PathSeparator == '\\' {
		return true // Windows has no execute bit; CreateProcess decides.
	}
	return mode&0o111 != 0
}
