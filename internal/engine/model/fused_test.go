package model

import (
	"context"
	"math"
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// TestFusedPrefillMatchesLinear checks that prompt processing through
// the fused products (Pool.MatMuls for q/k/v and gate/up) gives bit for
// bit the logits of separate products.
func TestFusedPrefillMatchesLinear(t *testing.T) {
	v := variants()[5]
	tokens := randomTokens(13, 12, v.vocab)
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.F16} {
		t.Run(typ.String(), func(t *testing.T) {
			m, err := loadFile(t, v.spec(typ).write(t))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if m.fused == nil {
				t.Fatal("a loaded model has no fused matrices")
			}
			got := evalAll(t, m, newWorkspace(t, m, 16), newCache(t, m, 16, KVF16), tokens)
			fused := m.fused
			m.fused = nil
			want := evalAll(t, m, newWorkspace(t, m, 16), newCache(t, m, 16, KVF16), tokens)
			m.fused = fused
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("logit %d: fused %g, separate products %g", i, got[i], want[i])
				}
			}
		})
	}
}

// TestFFNSubBatches checks that running the feed-forward block a slice of
// rows at a time changes no bit of a long prompt's logits.
func TestFFNSubBatches(t *testing.T) {
	v := variants()[6]
	m, err := loadFile(t, v.spec(quant.Q8_0).write(t))
	if err != nil {
		t.Fatal(err)
	}
	prompt := randomTokens(11, 300, v.vocab)
	run := func(rows int) []float32 {
		defer func(old int) { ffnRows = old }(ffnRows)
		ffnRows = rows
		ws, c := newWorkspace(t, m, 300), newCache(t, m, 300, KVF16)
		l, err := m.Eval(context.Background(), ws, c, prompt)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), l...)
	}
	whole, sliced := run(300), run(128)
	for i := range whole {
		if whole[i] != sliced[i] {
			t.Fatalf("logit %d: %v with the FFN over all rows at once, %v in slices of 128", i, whole[i], sliced[i])
		}
	}
}
