package supervisor

import (
	"strings"
	"testing"
	"time"
)

const (
	gib = int64(1) << 30
	mib = int64(1) << 20
)

// The seed's documented cases for compute_ready_timeout_secs. Its doc
// comment rounds ("~34s", "~62s", "~86s"); these are the values its integer
// arithmetic gives, which this port reproduces exactly.
func TestReadyTimeoutSecsSeedCases(t *testing.T) {
	tests := []struct {
		name     string
		size     int64
		override string
		want     uint64
	}{
		{"1 GB model gets the baseline", 1 * gib, "", 30},
		{"exactly 2 GB gets the baseline", 2 * gib, "", 30},
		{"499 MiB above 2 GB adds nothing", 2*gib + 499*mib, "", 30},
		{"500 MiB above 2 GB adds a second", 2*gib + 500*mib, "", 31},
		{"4 GB model", 4 * gib, "", 34},
		{"18 GB model", 18 * gib, "", 62},
		{"30 GB model", 30 * gib, "", 87},
		{"18.5 GB Qwen3-Coder-30B", 18*gib + 512*mib, "", 63},
		{"unknown size gets the baseline", -1, "", 30},
		{"empty file", 0, "", 30},
		{"override wins over size", 30 * gib, "120", 120},
		{"override wins over unknown size", -1, "45", 45},
		{"override 0 is raised to 1", 4 * gib, "0", 1},
		{"override 1", -1, "1", 1},
		{"huge override", -1, "18446744073709551615", 18446744073709551615},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadyTimeoutSecs(tt.size, tt.override)
			if err != nil || got != tt.want {
				t.Fatalf("ReadyTimeoutSecs(%d, %q) = %d, %v; want %d", tt.size, tt.override, got, err, tt.want)
			}
		})
	}
}

// The seed silently ignores an override it cannot parse; tether reports it.
func TestReadyTimeoutSecsInvalidOverride(t *testing.T) {
	for _, override := range []string{"abc", "-5", "1.5", " 120", "120s", "18446744073709551616"} {
		t.Run(override, func(t *testing.T) {
			_, err := ReadyTimeoutSecs(4*gib, override)
			if err == nil || !strings.Contains(err.Error(), ReadyTimeoutEnv) {
				t.Fatalf("ReadyTimeoutSecs(%q) error = %v, want one naming %s", override, err, ReadyTimeoutEnv)
			}
		})
	}
}

func TestReadyBudgetReadsEnvironment(t *testing.T) {
	t.Setenv(ReadyTimeoutEnv, "")
	if got, err := ReadyBudget(18 * gib); err != nil || got != 62*time.Second {
		t.Fatalf("unset: %v, %v", got, err)
	}
	t.Setenv(ReadyTimeoutEnv, "7")
	if got, err := ReadyBudget(18 * gib); err != nil || got != 7*time.Second {
		t.Fatalf("7: %v, %v", got, err)
	}
	t.Setenv(ReadyTimeoutEnv, "18446744073709551615")
	if got, err := ReadyBudget(-1); err != nil || got <= 0 {
		t.Fatalf("huge: %v, %v (must saturate, not overflow)", got, err)
	}
	t.Setenv(ReadyTimeoutEnv, "soon")
	if _, err := ReadyBudget(-1); err == nil {
		t.Fatal("invalid override accepted")
	}
}
