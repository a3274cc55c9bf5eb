//go:build race

package engine

// raceEnabled: the race detector allocates on synchronisation, so
// allocation counts mean nothing under it.
const raceEnabled = true
