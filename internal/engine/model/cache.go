package model

import "fmt"

// KVType is the element type of a KV cache.
type KVType int

const (
	// KVF16 stores keys and values as half floats: llama.cpp's default
	// cache type, and this package's, because the rounding it brings
	// shows in the logits.
	KVF16 KVType = iota
	// KVF32 stores them as float32.
	KVF32
)

func (t KVType) String() string {
	if t == KVF32 {
		return "f32"
	}
	return "f16"
}

// MaxCacheTokens bounds a cache's capacity, so that a mistaken size is an
// error rather than an allocation that cannot succeed.
const MaxCacheTokens = 1 << 22

// Cache holds the keys and values of one sequence, for every layer, up to
// a fixed capacity of tokens. Its memory is allocated once, when it is
// made. A Cache belongs to one sequence at a time and is not safe for
// concurrent use.
type Cache struct {
	typ      KVType
	capacity int
	n        int
	layers   int
	kvHeads  int
	dimK     int
	dimV     int
	// Per layer, laid out [kv head][position][dim] so that attention
	// reads each head's history contiguously. One of the pairs is nil.
	k16, v16 [][]uint16
	k32, v32 [][]float32
}

// NewCache returns an empty cache for capacity tokens.
func (m *Model) NewCache(capacity int, typ KVType) (*Cache, error) {
	if capacity <= 0 || capacity > MaxCacheTokens {
		return nil, fmt.Errorf("model: cache capacity %d must be from 1 to %d tokens", capacity, MaxCacheTokens)
	}
	c := m.cfg
	kc := &Cache{typ: typ, capacity: capacity, layers: c.Layers, kvHeads: c.KVHeads, dimK: c.HeadDimK, dimV: c.HeadDimV}
	kn, vn := c.KVHeads*capacity*c.HeadDimK, c.KVHeads*capacity*c.HeadDimV
	switch typ {
	case KVF16:
		kc.k16, kc.v16 = make([][]uint16, c.Layers), make([][]uint16, c.Layers)
		for l := range c.Layers {
			kc.k16[l], kc.v16[l] = make([]uint16, kn), make([]uint16, vn)
		}
	case KVF32:
		kc.k32, kc.v32 = make([][]float32, c.Layers), make([][]float32, c.Layers)
		for l := range c.Layers {
			kc.k32[l], kc.v32[l] = make([]float32, kn), make([]float32, vn)
		}
	default:
		return nil, fmt.Errorf("model: unknown KV cache type %d", typ)
	}
	return kc, nil
}

// CacheBytes is the memory a cache of capacity tokens takes.
// (saturating: see [KVCacheBytes]).
func (m *Model) CacheBytes(capacity int, typ KVType) int64 {
	return KVCacheBytes(m.cfg, capacity, typ)
}

// Len is the number of tokens in the cache.
func (c *Cache) Len() int { return c.n }

// Cap is the most tokens the cache can hold.
func (c *Cache) Cap() int { return c.capacity }

// Type is the cache's element type.
func (c *Cache) Type() KVType { return c.typ }

// Reset empties the cache.
func (c *Cache) Reset() { c.n = 0 }

// Truncate keeps the first n tokens, so that a sequence sharing them (a
// prompt with the same beginning) can continue from there.
func (c *Cache) Truncate(n int) {
	if n >= 0 && n < c.n {
		c.n = n
	}
}

// CopyPrefix makes c hold the first n tokens of src, which must come from
// the same model with the same element type. Copying a shared prompt
// beginning costs a memory copy, where evaluating it again costs a
// forward pass.
func (c *Cache) CopyPrefix(src *Cache, n int) error {
	switch {
	case src == c:
		return fmt.Errorf("model: a cache cannot copy itself")
	case src.typ != c.typ || src.layers != c.layers || src.kvHeads != c.kvHeads || src.dimK != c.dimK || src.dimV != c.dimV:
		return fmt.Errorf("model: caches of different shapes")
	case n < 0 || n > src.n || n > c.capacity:
		return fmt.Errorf("model: cannot copy %d tokens from a cache of %d into one of capacity %d", n, src.n, c.capacity)
	}
	for l := range c.layers {
		for h := range c.kvHeads {
			so, do := h*src.capacity, h*c.capacity
			if c.typ == KVF16 {
				copy(c.k16[l][do*c.dimK:(do+n)*c.dimK], src.k16[l][so*c.dimK:(so+n)*c.dimK])
				copy(c.v16[l][do*c.dimV:(do+n)*c.dimV], src.v16[l][so*c.dimV:(so+n)*c.dimV])
			} else {
				copy(c.k32[l][do*c.dimK:(do+n)*c.dimK], src.k32[l][so*c.dimK:(so+n)*c.dimK])
				copy(c.v32[l][do*c.dimV:(do+n)*c.dimV], src.v32[l][so*c.dimV:(so+n)*c.dimV])
			}
		}
	}
	c.n = n
	return nil
}

// store writes the key and value of one token at pos in layer l; k holds
// all kv heads (KVHeads×dimK), v likewise.
func (c *Cache) store(l, pos int, k, v []float32) {
	for h := range c.kvHeads {
		ko := (h*c.capacity + pos) * c.dimK
		vo := (h*c.capacity + pos) * c.dimV
		kh, vh := k[h*c.dimK:(h+1)*c.dimK], v[h*c.dimV:(h+1)*c.dimV]
		if c.typ == KVF16 {
			dk, dv := c.k16[l][ko:ko+c.dimK], c.v16[l][vo:vo+c.dimV]
			for i, x := range kh {
				dk[i] = f32ToF16(x)
			}
			for i, x := range vh {
				dv[i] = f32ToF16(x)
			}
		} else {
			copy(c.k32[l][ko:ko+c.dimK], kh)
			copy(c.v32[l][vo:vo+c.dimV], vh)
		}
	}
}
