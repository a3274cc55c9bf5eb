package supervisor

import (
	"math"
	"time"
)

// The size-aware rule of the seed system (compute_ready_timeout_secs in
// apr_serve.rs).
const (
	baselineReadySecs = 30
	sizeFreeBytes     = 2 << 30   // models up to 2 GiB get the baseline
	bytesPerExtraSec  = 500 << 20 // then one more second per 500 MiB
)

// ReadyBudget is the default start-up budget for a model of modelSize
// bytes: 30 s plus 1 s for every full 500 MiB above 2 GiB (a 4 GiB model
// 34 s, an 18 GiB model 62 s, a 30 GiB model 87 s). A negative modelSize
// means the size is unknown and gives 30 s. Operators' overrides are the
// caller's business (driver/managed reads APR_SERVE_READY_TIMEOUT_S).
func ReadyBudget(modelSize int64) time.Duration {
	secs := int64(baselineReadySecs)
	if modelSize > sizeFreeBytes {
		secs += (modelSize - sizeFreeBytes) / bytesPerExtraSec
	}
	return time.Duration(secs) * time.Second
}

// readyCeilingFactor is how many budgets start-up may take however much
// progress it shows.
const readyCeilingFactor = 10

// ReadyCeiling is the default hard limit on start-up for a budget: ten
// times it (5 min for the 30 s baseline, 20 s for an override of 2 s). The
// budget is a stall timer that progress extends; the ceiling ends a start-up
// that shows progress for ever. Reading the model at 50 MB/s fits in it for
// every model up to 100 GiB.
func ReadyCeiling(budget time.Duration) time.Duration {
	if budget > math.MaxInt64/readyCeilingFactor {
		return time.Duration(math.MaxInt64)
	}
	return budget * readyCeilingFactor
}
