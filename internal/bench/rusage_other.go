//go:build !linux

package bench

import "os"

// childMaxRSS is 0 where the peak is not known: ru_maxrss's unit differs
// between systems, and the report then uses what the child measured.
func childMaxRSS(*os.ProcessState) uint64 { return 0 }
