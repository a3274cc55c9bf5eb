package managed

import (
	"math"
	"strconv"
	"time"

	"github.com/tetherllm/tether/llm"
)

// The operator's environment variables, with the seed's names.
const (
	EnvMaxTokensCap  = "APR_AGENT_MAX_TOKENS_CAP"
	EnvTemperature   = "APR_AGENT_TEMPERATURE"
	EnvTopK          = "APR_AGENT_TOP_K"
	EnvTopP          = "APR_AGENT_TOP_P"
	EnvRepeatPenalty = "APR_AGENT_REPEAT_PENALTY"
	EnvRepeatLastN   = "APR_AGENT_REPEAT_LAST_N"
	EnvSeed          = "APR_AGENT_SEED"
	EnvHTTPTimeout   = "APR_AGENT_HTTP_TIMEOUT_S"
	EnvReadyTimeout  = "APR_SERVE_READY_TIMEOUT_S"
	// EnvNoCgroup is tether's own: 1 keeps servers out of cgroups.
	EnvNoCgroup = "TETHER_NO_CGROUP"
)

// Defaults of the seed's request shaping.
const (
	DefaultMaxTokensCap = 1024
	DefaultHTTPTimeout  = 1800 * time.Second
)

// Overrides are an operator's settings for every launch and request,
// given to the driver as [Options.Overrides] (usually from
// [OverridesFromEnv]). Set fields replace the request's values; a positive
// MaxTokensCap caps max_tokens (and is the value when the request sets
// none).
type Overrides struct {
	MaxTokensCap  int
	Temperature   *float64
	TopK          *int
	TopP          *float64
	RepeatPenalty *float64
	RepeatLastN   *int
	Seed          *int64
	// HTTPTimeout bounds each request; 0 leaves it to the caller's context.
	HTTPTimeout time.Duration
	// ReadyTimeout, if positive, replaces the size-aware start-up budget.
	ReadyTimeout time.Duration
	// NoCgroup keeps servers out of cgroups of their own, for systems
	// that manage cgroups otherwise (see supervisor.Config.NoCgroup).
	NoCgroup bool
}

// OverridesFromEnv reads the overrides through getenv (os.Getenv in
// production), with the seed system's variables and defaults: max_tokens
// capped at 1024 and a 30-minute request timeout unless the variables say
// otherwise. A set variable that does not parse, or is out of range, is an
// [*llm.ConfigError].
func OverridesFromEnv(getenv func(string) string) (Overrides, error) {
	o := Overrides{MaxTokensCap: DefaultMaxTokensCap, HTTPTimeout: DefaultHTTPTimeout}
	var err error
	parse := func(name string, set func(string) string) {
		v := getenv(name)
		if v == "" || err != nil {
			return
		}
		if reason := set(v); reason != "" {
			err = &llm.ConfigError{Setting: name, Value: v, Reason: reason}
		}
	}
	parse(EnvMaxTokensCap, func(v string) string {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 {
			return "want a whole number of tokens, at least 1"
		}
		o.MaxTokensCap = n
		return ""
	})
	parse(EnvTemperature, floatIn(&o.Temperature, 0, 100, "want a number from 0 to 100"))
	parse(EnvTopK, intIn(&o.TopK, 0, "want a whole number, 0 (off) or more"))
	parse(EnvTopP, floatIn(&o.TopP, 0, 1, "want a number from 0 to 1"))
	parse(EnvRepeatPenalty, floatIn(&o.RepeatPenalty, 1e-9, 100, "want a positive number (1 is off)"))
	parse(EnvRepeatLastN, intIn(&o.RepeatLastN, -1, "want a whole number, -1 (whole context) or more"))
	parse(EnvSeed, func(v string) string {
		n, e := strconv.ParseInt(v, 10, 64)
		if e != nil {
			return "want a whole number"
		}
		o.Seed = &n
		return ""
	})
	parse(EnvHTTPTimeout, func(v string) string {
		n, e := strconv.ParseUint(v, 10, 32)
		if e != nil || n < 1 {
			return "want a whole number of seconds, at least 1"
		}
		o.HTTPTimeout = time.Duration(n) * time.Second
		return ""
	})
	parse(EnvReadyTimeout, func(v string) string {
		n, e := strconv.ParseUint(v, 10, 64)
		if e != nil {
			return "want a whole number of seconds"
		}
		o.ReadyTimeout = time.Duration(min(max(n, 1), math.MaxInt64/uint64(time.Second))) * time.Second
		return ""
	})
	parse(EnvNoCgroup, func(v string) string {
		b, e := strconv.ParseBool(v)
		if e != nil {
			return "want 1 (no cgroups) or 0"
		}
		o.NoCgroup = b
		return ""
	})
	return o, err
}

func floatIn(dst **float64, lo, hi float64, reason string) func(string) string {
	return func(v string) string {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= lo && f <= hi) { // NaN compares false: refused too
			return reason
		}
		*dst = &f
		return ""
	}
}

func intIn(dst **int, lo int, reason string) func(string) string {
	return func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo {
			return reason
		}
		*dst = &n
		return ""
	}
}

// Apply returns req shaped by the overrides.
func (o Overrides) Apply(req llm.Request) llm.Request {
	if o.MaxTokensCap > 0 && (req.MaxTokens <= 0 || req.MaxTokens > o.MaxTokensCap) {
		req.MaxTokens = o.MaxTokensCap
	}
	if o.Temperature != nil {
		req.Temperature = o.Temperature
	}
	if o.TopK != nil {
		req.TopK = o.TopK
	}
	if o.TopP != nil {
		req.TopP = o.TopP
	}
	if o.RepeatPenalty != nil {
		req.RepeatPenalty = o.RepeatPenalty
	}
	if o.RepeatLastN != nil {
		req.RepeatLastN = o.RepeatLastN
	}
	if o.Seed != nil {
		req.Seed = o.Seed
	}
	return req
}
