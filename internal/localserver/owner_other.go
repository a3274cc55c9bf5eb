//go:build !unix

package localserver

// processGone cannot tell here; directories are never swept.
func processGone(int) bool { return false }

func ownedByUs(string) bool { return false }
