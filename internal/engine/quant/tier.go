package quant

import (
	"fmt"
	"os"
	"strings"
)

// A kernel tier is one implementation of the products for the whole
// package: "scalar" (portable Go, the reference, always present) or a SIMD
// tier such as "avx2" that replaces some types' functions, and some of
// the activation conversions of Vector.Quantize, with assembly.
// Tiers give the same results up to the order of float additions (the
// integer parts of the quantised dot products are exact in every tier),
// the same freedom llama.cpp's own CPU variants take.
//
// The best tier this CPU runs is chosen when the package starts; the
// environment variable TETHER_KERNELS names another ("scalar", "avx2",
// …), and the build tag purego leaves the assembly out altogether.
type tier struct {
	name string
	// usable reports whether this CPU runs the tier's instructions.
	usable func() bool
	// accel holds the tier's replacements, by weight type; a type
	// without an entry keeps its scalar kernel.
	accel map[Type]accel
	// act holds the tier's activation converters; nil fields keep the
	// scalar ones.
	act actConverters
}

// actConverters are the inner loops of Vector.Quantize, one per vec-dot
// type with work to do. They trust their arguments: Quantize has checked
// the length and sized the vector's buffers. Every tier's converters give
// exactly the scalar ones' bytes, which are ggml's.
type actConverters struct {
	// q8 fills v.q, v.d and v.isum (and v.s when withSum, for Q8_1)
	// from x, len(v.d) blocks of 32.
	q8 func(v *Vector, x []float32, withSum bool)
	// q8K fills v.q, v.d and v.bsums from x, len(v.d) blocks of 256.
	q8K func(v *Vector, x []float32)
	// f16 sets dst[i] to x[i] rounded to half precision (to nearest even)
	// and widened back; len(dst) == len(x).
	f16 func(dst, x []float32)
}

// scalarAct are the portable converters, the reference for every tier.
var scalarAct = actConverters{q8: quantizeQ8Act, q8K: quantizeQ8K, f16: roundF16}

// accel is a tier's replacement for part of one type's kernel; nil
// fields keep the scalar functions.
type accel struct {
	dot  func(w []byte, v *Vector) float32
	tile tileFunc
}

// tileFunc computes the products of rows weight rows (rowBytes apart from
// w[0]) with every vector of vs: dst[c*ldd+r] = row r · vs[c]. It is the
// micro-kernel of matrix-matrix products, where each weight row loaded
// serves several activation rows.
type tileFunc func(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector)

var (
	// scalarKernels are the portable kernels, as registered.
	scalarKernels [numTypes]kernel
	// tiers lists the tiers from the plainest to the fastest; scalar
	// is first.
	tiers  = []*tier{{name: "scalar", usable: func() bool { return true }}}
	active *tier
	// act are the active tier's activation converters, the scalar ones
	// where the tier has none.
	act = scalarAct
)

// register installs t's scalar kernel; every type file calls it while the
// package's variables are initialised, before any init function runs.
func register(t Type, k *kernel) struct{} {
	kernels[t] = k
	return struct{}{}
}

// addTier appends a SIMD tier; architecture files call it during variable
// initialisation, in order of preference.
func addTier(t *tier) struct{} {
	tiers = append(tiers, t)
	return struct{}{}
}

// setAccel adds a type's kernels to a tier's table during variable
// initialisation.
func setAccel(table map[Type]accel, t Type, a accel) struct{} {
	table[t] = a
	return struct{}{}
}

func init() {
	for t, k := range kernels {
		if k != nil {
			scalarKernels[t] = *k
			// The table keeps its own copies, so that switching tiers
			// never writes to memory a caller might be reading.
			k := *k
			kernels[t] = &k
		}
	}
	name := os.Getenv("TETHER_KERNELS")
	if err := SetKernelTier(name); err != nil {
		fmt.Fprintf(os.Stderr, "tether: TETHER_KERNELS: %v; using %s\n", err, bestTier().name)
		_ = SetKernelTier("")
	}
}

// KernelTier names the tier in use.
func KernelTier() string { return active.name }

// KernelTiers names the tiers this CPU can run, plainest first.
func KernelTiers() []string {
	var names []string
	for _, t := range tiers {
		if t.usable() {
			names = append(names, t.name)
		}
	}
	return names
}

// SetKernelTier switches every kernel to the named tier; "" or "auto"
// picks the fastest this CPU runs. A tier the CPU cannot run is an error,
// never a crash. It must not run while products are being computed (it is
// meant for start-up, tests and benchmarks); matrices made before the
// switch use the new kernels too.
func SetKernelTier(name string) error {
	var t *tier
	switch name {
	case "", "auto":
		t = bestTier()
	default:
		for _, c := range tiers {
			if c.name == name {
				t = c
			}
		}
		if t == nil {
			return fmt.Errorf("unknown kernel tier %q (this build has %s)", name, strings.Join(tierNames(), ", "))
		}
		if !t.usable() {
			return fmt.Errorf("kernel tier %q needs CPU features this machine lacks (it runs %s)", name, strings.Join(KernelTiers(), ", "))
		}
	}
	for typ := range kernels {
		k := kernels[typ]
		if k == nil {
			continue
		}
		*k = scalarKernels[typ]
		if a, ok := t.accel[Type(typ)]; ok {
			if a.dot != nil {
				k.dot = a.dot
			}
			k.tile = a.tile
		}
	}
	act = scalarAct
	if t.act.q8 != nil {
		act.q8 = t.act.q8
	}
	if t.act.q8K != nil {
		act.q8K = t.act.q8K
	}
	if t.act.f16 != nil {
		act.f16 = t.act.f16
	}
	active = t
	return nil
}

func bestTier() *tier {
	best := tiers[0]
	for _, t := range tiers {
		if t.usable() {
			best = t
		}
	}
	return best
}

func tierNames() []string {
	var names []string
	for _, t := range tiers {
		names = append(names, t.name)
	}
	return names
}

// tileByDot is the tile of a type without a micro-kernel: one dot product
// per pair, the weight rows kept in cache across the vectors.
func tileByDot(dot func(w []byte, v *Vector) float32, dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	for c := range vs {
		out := dst[c*ldd : c*ldd+rows]
		for r := range out {
			out[r] = dot(w[r*rowBytes:(r+1)*rowBytes], &vs[c])
		}
	}
}
