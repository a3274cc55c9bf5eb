package supervisor

import (
	"testing"
	"time"
)

const (
	gib = int64(1) << 30
	mib = int64(1) << 20
)

// The seed's documented cases for compute_ready_timeout_secs. Its doc
// comment rounds ("~34s", "~62s", "~86s"); these are the values its integer
// arithmetic gives, which this rule reproduces exactly.
func TestReadyBudgetSeedCases(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want time.Duration
	}{
		{"1 GB model gets the baseline", 1 * gib, 30 * time.Second},
		{"exactly 2 GB gets the baseline", 2 * gib, 30 * time.Second},
		{"499 MiB above 2 GB adds nothing", 2*gib + 499*mib, 30 * time.Second},
		{"500 MiB above 2 GB adds a second", 2*gib + 500*mib, 31 * time.Second},
		{"4 GB model", 4 * gib, 34 * time.Second},
		{"18 GB model", 18 * gib, 62 * time.Second},
		{"30 GB model", 30 * gib, 87 * time.Second},
		{"18.5 GB Qwen3-Coder-30B", 18*gib + 512*mib, 63 * time.Second},
		{"unknown size gets the baseline", -1, 30 * time.Second},
		{"empty file", 0, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReadyBudget(tt.size); got != tt.want {
				t.Fatalf("ReadyBudget(%d) = %v; want %v", tt.size, got, tt.want)
			}
		})
	}
}
