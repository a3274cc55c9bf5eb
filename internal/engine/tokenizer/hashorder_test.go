package tokenizer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestStdStringHash(t *testing.T) {
	// Values printed by std::hash<std::string> of libstdc++ (x86-64).
	for s, want := range map[string]uint64{
		"":             6142509188972423790,
		"a":            4993892634952068459,
		"hello world!": 6594337730806245023,
	} {
		if got := stdStringHash(s); got != want {
			t.Errorf("stdStringHash(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestStdMapOrderMatchesLibstdcxx compiles testdata/stdmap_order.cpp and
// compares its iteration order with stdMapOrder on several key sets.
func TestStdMapOrderMatchesLibstdcxx(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles C++; skipped in -short")
	}
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++")
	}
	bin := filepath.Join(t.TempDir(), "stdmap_order")
	if out, err := exec.Command(gxx, "-O1", "-o", bin, "testdata/stdmap_order.cpp").CombinedOutput(); err != nil {
		t.Fatalf("g++: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	sets := map[string][]string{
		"chat vocabulary": chatVocab(t, "qwen2").Tokens,
		"spm vocabulary":  spmCorpusVocab("<|user|>", "<|endoftext|>").Tokens,
		"tiny":            {"b", "a"},
	}
	for _, n := range []int{13, 14, 300, 45000} {
		keys := make([]string, n)
		for i := range keys {
			k := fmt.Sprintf("%016x%x", rng.Uint64(), rng.Uint64())
			keys[i] = k[:1+rng.IntN(len(k))] + "-" + strconv.Itoa(i)
		}
		sets[fmt.Sprintf("%d random keys", n)] = keys
	}
	for name, keys := range sets {
		t.Run(name, func(t *testing.T) {
			var in bytes.Buffer
			for _, k := range keys {
				binary.Write(&in, binary.LittleEndian, uint32(len(k)))
				in.WriteString(k)
			}
			cmd := exec.Command(bin)
			cmd.Stdin = &in
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			for _, f := range strings.Fields(string(out)) {
				v, _ := strconv.Atoi(f)
				want = append(want, int32(v))
			}
			if got := stdMapOrder(keys); !slices.Equal(got, want) {
				t.Errorf("order differs: got %v..., want %v...", got[:min(10, len(got))], want[:min(10, len(want))])
			}
		})
	}
}
