package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/testmodel"
)

// ggufFields finds the header's counts where the format puts them and
// ends where the data's alignment padding begins.
func TestGGUFFieldsWalksTheHeader(t *testing.T) {
	path := testmodel.Write(t, testmodel.Spec{})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fields, end := ggufFields(data)
	if len(fields) < 2 || fields[0].Pos != 8 || fields[0].What != "tensor count" || fields[1].Pos != 16 {
		t.Fatalf("first fields %+v", fields[:min(2, len(fields))])
	}
	if got := binary.LittleEndian.Uint64(data[8:]); got != uint64(len(f.Tensors())) {
		t.Fatalf("tensor count %d, file has %d", got, len(f.Tensors()))
	}
	if off := int(f.DataOffset()); end > off || off-end >= int(f.Alignment()) {
		t.Fatalf("header ends at %d, data at %d (alignment %d)", end, off, f.Alignment())
	}
	offsets := 0
	for _, fl := range fields {
		if fl.What == "tensor offset" {
			offsets++
		}
	}
	if offsets != len(f.Tensors()) {
		t.Fatalf("%d tensor offsets found, %d tensors", offsets, len(f.Tensors()))
	}

	r := rand.New(rand.NewPCG(1, 2))
	changed := 0
	for range 50 {
		m, how := mutateGGUF(r, data, fields, end)
		if how == "" || len(m) > len(data) {
			t.Fatalf("mutation %q of %d bytes", how, len(m))
		}
		if string(m) != string(data) {
			changed++
		}
	}
	if changed < 40 {
		t.Fatalf("only %d of 50 mutations changed the file", changed)
	}
}

// wordBody is a valid request with a word of the size asked for.
func TestWordBody(t *testing.T) {
	b := newWordBody("m", 100_000)
	data, err := io.ReadAll(b)
	if err != nil || int64(len(data)) != newWordBody("m", 100_000).Len() {
		t.Fatalf("read %d bytes (%v), Len %d", len(data), err, b.Len())
	}
	var req struct {
		Model    string
		Messages []struct{ Content string }
	}
	if err := json.Unmarshal(data, &req); err != nil || req.Model != "m" || len(req.Messages) != 1 || req.Messages[0].Content != strings.Repeat("a", 100_000) {
		t.Fatalf("not the request expected: %v", err)
	}
}

// listenAddresses finds a loopback listener and only it.
func TestListenAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ips, err := listenAddresses(ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Skip(err)
	}
	if len(ips) != 1 || !ips[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("listening addresses %v, want [127.0.0.1]", ips)
	}
}

// measure reports exit statuses, timeouts and a peak, and clearError
// tells a clear refusal from a crash.
func TestMeasure(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	m := measure(ctx, 10*time.Second, exec.Command(sh, "-c", "echo 'tether: model x: bad' >&2; exit 3"))
	if m.Code != 3 || m.TimedOut || m.Peak <= 0 || clearError(m, []int{3}, "bad") != nil {
		t.Fatalf("%+v: %v", m, clearError(m, []int{3}, "bad"))
	}
	if clearError(m, []int{0}, "") == nil || clearError(m, []int{3}, "other words") == nil {
		t.Fatal("a wrong status or message passed")
	}
	m = measure(ctx, 10*time.Second, exec.Command(sh, "-c", "echo 'panic: boom' >&2; echo 'goroutine 1 [running]:' >&2; exit 2"))
	if clearError(m, []int{2}, "") == nil {
		t.Fatal("a crash trace passed")
	}
	m = measure(ctx, 100*time.Millisecond, exec.Command(sh, "-c", "sleep 10"))
	if !m.TimedOut || clearError(m, []int{0}, "") == nil {
		t.Fatalf("%+v: a hang passed", m)
	}
}
