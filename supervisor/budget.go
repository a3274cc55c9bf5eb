package supervisor

import (
	"math"
	"os"
	"strconv"
	"time"

	"github.com/tetherllm/tether/llm"
)

// ReadyTimeoutEnv is the operator's override for the start-up budget, in
// whole seconds; the seed system reads the same variable.
const ReadyTimeoutEnv = "APR_SERVE_READY_TIMEOUT_S"

// The seed's size-aware rule (compute_ready_timeout_secs in apr_serve.rs).
const (
	baselineReadySecs = 30
	minReadySecs      = 1
	sizeFreeBytes     = 2 << 30   // models up to 2 GiB get the baseline
	bytesPerExtraSec  = 500 << 20 // then one more second per 500 MiB
)

// ReadyTimeoutSecs is the seed's rule for the start-up budget, in seconds.
// An override (the value of APR_SERVE_READY_TIMEOUT_S; "" means unset) that
// is a whole number of seconds wins, raised to at least 1. Otherwise a model
// of modelSize bytes gets 30 s plus 1 s for every full 500 MiB above 2 GiB
// (a 4 GiB model 34 s, an 18 GiB model 62 s, a 30 GiB model 87 s); a
// negative modelSize means the size is unknown and gives 30 s.
//
// Unlike the seed, which silently falls back to the default, an override
// that is not a whole number of seconds is an error: an operator who set it
// meant something.
func ReadyTimeoutSecs(modelSize int64, override string) (uint64, error) {
	if override != "" {
		n, err := strconv.ParseUint(override, 10, 64)
		if err != nil {
			return 0, &llm.ConfigError{Setting: ReadyTimeoutEnv, Value: override, Reason: "not a whole number of seconds"}
		}
		return max(n, minReadySecs), nil
	}
	if modelSize < 0 {
		return baselineReadySecs, nil
	}
	extra := uint64(max(modelSize-sizeFreeBytes, 0)) / bytesPerExtraSec
	return baselineReadySecs + extra, nil
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

// ReadyBudget is [ReadyTimeoutSecs] as a duration, with the override read
// from the environment. Use it as [Config.ReadyBudget].
func ReadyBudget(modelSize int64) (time.Duration, error) {
	secs, err := ReadyTimeoutSecs(modelSize, os.Getenv(ReadyTimeoutEnv))
	if err != nil {
		return 0, err
	}
	if secs > math.MaxInt64/uint64(time.Second) {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(secs) * time.Second, nil
}
