package toolcall

import (
	"crypto/rand"
	"strconv"
	"sync/atomic"
)

// IDs hands out tool-call ids that are unique for its lifetime, and across
// IDs values with overwhelming probability: a random prefix chosen at
// creation and a counter. One driver keeps one IDs. It is safe for
// concurrent use.
//
// A nil *IDs gives the seed's ids, "local-1", "local-2", …, restarting with
// every parse; they repeat across answers and exist for compatibility
// tests only.
type IDs struct {
	prefix string
	n      atomic.Uint64
}

// NewIDs returns an id source with a fresh random prefix.
func NewIDs() *IDs {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return &IDs{prefix: "call_" + string(b[:])}
}

// Next returns a new id.
func (ids *IDs) Next() string {
	return ids.prefix + strconv.FormatUint(ids.n.Add(1), 10)
}

// seedIDs numbers calls as the seed does, for a nil *IDs.
type seedIDs struct {
	ids *IDs
	n   int
}

func (s *seedIDs) next() string {
	if s.ids != nil {
		return s.ids.Next()
	}
	s.n++
	return "local-" + strconv.Itoa(s.n)
}
