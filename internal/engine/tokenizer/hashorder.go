package tokenizer

import "encoding/binary"

// llama.cpp finds EOT, EOM and FIM tokens by walking its token-text map, a
// std::unordered_map<std::string, llama_token> filled in id order, and keeps
// the first match. Which candidate wins therefore depends on libstdc++'s
// iteration order. This file reproduces that order: libstdc++'s string hash
// (_Hash_bytes, a MurmurHash2 variant), its prime bucket growth, and its
// rule of putting a node that opens an empty bucket at the head of the
// single node list.

// stdStringHash is std::hash<std::string> of libstdc++ on 64-bit targets.
func stdStringHash(s string) uint64 {
	const mul = 0xc6a4a7935bd1e995
	shiftMix := func(v uint64) uint64 { return v ^ v>>47 }
	n := len(s)
	h := uint64(0xc70f6907) ^ uint64(n)*mul
	aligned := n &^ 7
	for i := 0; i < aligned; i += 8 {
		h ^= shiftMix(binary.LittleEndian.Uint64([]byte(s[i:i+8]))*mul) * mul
		h *= mul
	}
	if rest := n & 7; rest != 0 {
		var data uint64
		for i := n - 1; i >= aligned; i-- {
			data = data<<8 | uint64(s[i])
		}
		h ^= data
		h *= mul
	}
	h = shiftMix(h) * mul
	return shiftMix(h)
}

// stdBucketCounts are the bucket counts an unordered_map grows through as
// elements are inserted one by one with the default max load factor of 1
// (read off libstdc++: it rehashes when the element count would exceed the
// bucket count, to the first prime of its table at least twice as large).
// Past the table (vocabularies of millions of tokens) the next prime after
// doubling is an unverified stand-in.
var stdBucketCounts = []uint64{13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043,
	85229, 172933, 351061, 712697, 1447153, 2938679, 5967347}

// stdMapOrder returns the indexes of keys in the order a libstdc++
// unordered_map<string, int> built by inserting keys in index order iterates
// them. Keys must be distinct.
func stdMapOrder(keys []string) []int32 {
	n := len(keys)
	hashes := make([]uint64, n)
	for i, k := range keys {
		hashes[i] = stdStringHash(k)
	}
	const none = -1
	// The node list is singly linked through next; -1 ends it. buckets[b]
	// holds the node before the bucket's first node: beforeBegin (-2) or an
	// index.
	const beforeBegin = -2
	next := make([]int32, n)
	head := int32(none)
	var buckets []int32
	var nb uint64
	growth := 0
	bucketOf := func(i int32) uint64 { return hashes[i] % nb }
	insertAfter := func(prev, p int32) {
		if prev == beforeBegin {
			next[p] = head
			head = p
			return
		}
		next[p] = next[prev]
		next[prev] = p
	}
	rehash := func(newNB uint64) {
		nb = newNB
		buckets = make([]int32, nb)
		for i := range buckets {
			buckets[i] = none
		}
		p := head
		head = none
		var bbeginBkt uint64
		for p != none {
			nxt := next[p]
			b := bucketOf(p)
			if buckets[b] == none {
				next[p] = head
				head = p
				buckets[b] = beforeBegin
				if next[p] != none {
					buckets[bbeginBkt] = p
				}
				bbeginBkt = b
			} else {
				insertAfter(buckets[b], p)
			}
			p = nxt
		}
	}
	for i := range int32(n) {
		if uint64(i)+1 > nb {
			var c uint64
			if growth < len(stdBucketCounts) {
				c = stdBucketCounts[growth]
			} else {
				c = nextPrime(2 * nb)
			}
			growth++
			rehash(c)
		}
		b := bucketOf(i)
		if prev := buckets[b]; prev != none {
			insertAfter(prev, i)
			continue
		}
		next[i] = head
		head = i
		if next[i] != none {
			buckets[bucketOf(next[i])] = i
		}
		buckets[b] = beforeBegin
	}
	order := make([]int32, 0, n)
	for p := head; p != none; p = next[p] {
		order = append(order, p)
	}
	return order
}

func nextPrime(n uint64) uint64 {
	for ; ; n++ {
		prime := n > 1
		for d := uint64(2); d*d <= n; d++ {
			if n%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			return n
		}
	}
}
