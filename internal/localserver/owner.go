package localserver

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// What a tether process leaves in places shared with other processes —
// launch directories under the temporary directory, its servers' cgroups —
// is named "tether-PID-…" after the process that made it, so that any
// later tether can tell, once PID is gone, that it is stale.

// OwnedPrefix starts the name of everything this process leaves in a
// shared place.
func OwnedPrefix() string { return fmt.Sprintf("tether-%d-", os.Getpid()) }

// OrphanedEntries returns the names of the directories under base that
// another tether process made and that process is gone.
func OrphanedEntries(base string) []string {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "tether-")
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if processGone(pid) {
			names = append(names, e.Name())
		}
	}
	return names
}
