package serve

import "sync/atomic"

// admission bounds the generation requests the server holds: those in
// the engine's slots plus those waiting in its FIFO queue. The engine
// keeps the order; admission only refuses, at once, what would wait
// beyond the bound.
type admission struct {
	limit int64
	n     atomic.Int64
}

// acquire takes a place, or reports that there is none.
func (a *admission) acquire() bool {
	if a.n.Add(1) > a.limit {
		a.n.Add(-1)
		return false
	}
	return true
}

func (a *admission) release() { a.n.Add(-1) }
