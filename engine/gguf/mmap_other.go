//go:build !unix

package gguf

import (
	"io"
	"os"
)

// mapFile reads the whole file: there is no mmap here.
func mapFile(fh *os.File) ([]byte, func() error, error) {
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
