package engine

import "golang.org/x/sys/unix"

// physicalMemory is the machine's RAM in bytes; ok is false when it
// cannot be read.
func physicalMemory() (bytes int64, ok bool) {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0, false
	}
	return int64(uint64(si.Totalram) * uint64(si.Unit)), true
}
