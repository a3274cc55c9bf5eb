package model

import (
	"math"
	"testing"

	"github.com/tetherllm/tether/engine/quant"
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
