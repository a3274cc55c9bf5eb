//go:build !linux

package engine

// physicalMemory is the machine's RAM in bytes; ok is false when it
// cannot be read, as here.
func physicalMemory() (bytes int64, ok bool) { return 0, false }
