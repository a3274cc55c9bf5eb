package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// withTier runs f with the named tier switched on, and restores the tier
// that was active before.
func withTier(t testing.TB, name string, f func()) {
	t.Helper()
	prev := KernelTier()
	if err := SetKernelTier(name); err != nil {
		t.Fatal(err)
	}
	defer SetKernelTier(prev)
	f()
}

// dotScale is Σ|w_i·a_i| of the dequantised operands: the size of the
// rounding errors a different order of float additions may bring.
func dotScale(typ Type, w []byte, v *Vector) float64 {
	wf := make([]float32, v.n)
	af := make([]float32, v.n)
	Dequantize(typ, wf, w)
	v.dequantizeInto(af)
	var mag float64
	for i := range wf {
		mag += math.Abs(float64(wf[i]) * float64(af[i]))
	}
	return mag
}

// TestTiersAgree checks every SIMD tier this CPU runs against the scalar
// kernels, for every type, on rows of several lengths (odd block counts
// reach the kernels' tails) and on activation rows of every kind
// (random, zero, saturating): single dot products, and tiles of several
// rows by several vectors (odd sizes reach the micro-kernels' edges).
func TestTiersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range KernelTiers() {
		if name == "scalar" {
			continue
		}
		for _, typ := range testTypes {
			vt, _ := typ.VecDotType()
			bs := typ.BlockSize()
			lengths := []int{bs, 3 * bs, 7 * bs, max(896/bs*bs, bs), 4864 / bs * bs}
			if bs == 1 {
				// Float rows of any length: 45 and 1001 reach the
				// kernels' 8-element chunks and single elements after
				// their 32-element steps.
				lengths = append(lengths, 45, 1001)
			}
			for _, cols := range lengths {
				const rows, nv = 7, 7
				rb, _ := typ.RowBytes(cols)
				w := make([]byte, rows*rb)
				for r := range rows {
					Quantize(typ, w[r*rb:(r+1)*rb], gaussRow(rng, cols, 0.05))
				}
				vs := make([]Vector, nv)
				for c := range vs {
					x := gaussRow(rng, cols, 1)
					switch c {
					case 1:
						clear(x)
					case 2:
						for i := range x {
							x[i] = float32(1 - 2*(i%2))
						}
					}
					vs[c].Quantize(vt, x)
				}
				t.Run(fmt.Sprintf("%s/%s/%d", name, typ, cols), func(t *testing.T) {
					want := make([]float32, nv*rows)
					tileByDot(scalarKernels[typ].dot, want, rows, w, rb, rows, vs)
					got := make([]float32, nv*rows)
					gotTile := make([]float32, nv*rows)
					withTier(t, name, func() {
						k := kernels[typ]
						tileByDot(k.dot, got, rows, w, rb, rows, vs)
						if k.tile != nil {
							k.tile(gotTile, rows, w, rb, rows, vs)
						} else {
							copy(gotTile, got)
						}
					})
					for c := range nv {
						for r := range rows {
							// The tile must repeat the dot's additions:
							// a matrix gives the same products one
							// activation row at a time as many at once.
							if i := c*rows + r; math.Float32bits(gotTile[i]) != math.Float32bits(got[i]) {
								t.Errorf("tile(row %d, vector %d) = %g, dot %g: not bit-identical", r, c, gotTile[i], got[i])
							}
							mag := dotScale(typ, w[r*rb:(r+1)*rb], &vs[c])
							i := c*rows + r
							for what, g := range map[string]float32{"dot": got[i], "tile": gotTile[i]} {
								if d := math.Abs(float64(g) - float64(want[i])); d > 2e-6*mag+1e-30 || math.IsNaN(float64(g)) {
									t.Errorf("%s(row %d, vector %d) = %g, scalar %g (|diff| %g, scale %g)", what, r, c, g, want[i], d, mag)
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestSetKernelTier(t *testing.T) {
	tiers := KernelTiers()
	if tiers[0] != "scalar" {
		t.Fatalf("KernelTiers() = %v, want scalar first", tiers)
	}
	if err := SetKernelTier("no-such-tier"); err == nil {
		t.Error("an unknown tier was accepted")
	}
	for _, name := range tierNames() {
		if !slices.Contains(tiers, name) {
			if err := SetKernelTier(name); err == nil {
				t.Errorf("tier %s, which this CPU cannot run, was accepted", name)
			}
		}
	}
	withTier(t, "scalar", func() {
		if KernelTier() != "scalar" {
			t.Errorf("KernelTier() = %s after choosing scalar", KernelTier())
		}
	})
}
