//go:build !unix

package gguf

import (
	"fmt"
	"io"
	"os"
)

// openRegular opens path for reading if it is a regular file. Without
// O_NONBLOCK the mode is checked before the open, so that a named pipe is
// never opened.
func openRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return fh, nil
}

// mapFile reads the whole file: there is no mmap here.
func mapFile(fh *os.File) ([]byte, func() error, error) {
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
