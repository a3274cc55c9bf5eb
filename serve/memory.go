package serve

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
)

// requestMemoryPerByte is what a request is charged against
// Config.MaxRequestMemory per byte of its body. The body, its decoded
// text and the rendered prompt come to about 4× the body at the heap's
// peak for a prompt refused for its length (measured with a 16 MiB
// prompt of one word: tokenizing stops at the context window). A prompt
// that fits a very large window is tokenized whole, which adds its code
// points and their classes (6 bytes a byte) and the ids, so about 8×
// for prose; the charge takes that case.
const requestMemoryPerByte = 8

// freeMemoryAfterBytes is the body size from which a request's memory is
// handed back to the operating system when it is answered: the garbage
// collector keeps freed heap mapped for minutes, and a process that once
// read a 30 MiB prompt would otherwise stay hundreds of MiB large.
const freeMemoryAfterBytes = 4 << 20

// memoryBudget is Config.MaxRequestMemory: the bytes the requests the
// server holds may be charged together.
type memoryBudget struct {
	limit int64 // < 0: no bound
	used  atomic.Int64
}

// acquire charges n bytes, or reports that they do not fit.
func (b *memoryBudget) acquire(n int64) bool {
	if b.limit < 0 || n <= 0 {
		return true
	}
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *memoryBudget) release(n int64) {
	if b.limit >= 0 && n > 0 {
		b.used.Add(-n)
	}
}

// errMemoryBusy is a body that does not fit the memory budget while it
// is being read (one sent without Content-Length).
var errMemoryBusy = errors.New("the server's memory for requests is in use; retry later")

// budgetedBody charges a body against the budget as it is read, for a
// body whose length was not announced; one whose length was is charged
// in full before it is read (see Server.ServeHTTP).
type budgetedBody struct {
	io.ReadCloser
	budget  *memoryBudget
	charged int64 // what this request holds, released when it is answered
	read    int64
}

func (b *budgetedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if need := b.read*requestMemoryPerByte - b.charged; need > 0 {
		if !b.budget.acquire(need) {
			return n, errMemoryBusy
		}
		b.charged += need
	}
	return n, err
}

// readAll reads a request's body, sized by its Content-Length when it has
// one: io.ReadAll's doubling would allocate about three times the body.
func readAll(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n <= 0 || n >= 1<<31 {
		return io.ReadAll(r.Body)
	}
	buf := make([]byte, 0, n+1) // +1: the end is seen without growing
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// freeMemory hands freed heap back to the operating system, one call at
// a time: a call is a full collection, and requests that end together
// need only one. A request that ends while a call runs asks for one more
// after it: the running collection may have marked that request's memory
// before it was freed, and what it held would stay mapped.
func (s *Server) freeMemory() {
	s.freePending.Store(true)
	for s.freePending.Load() && s.freeing.CompareAndSwap(false, true) {
		for s.freePending.Swap(false) {
			freeOSMemory()
		}
		s.freeing.Store(false)
	}
}

// freeOSMemory is debug.FreeOSMemory; tests replace it.
var freeOSMemory = debug.FreeOSMemory

// defaultRequestMemory is a quarter of the machine's memory, or 2 GiB
// where it cannot be read.
func defaultRequestMemory() int64 {
	if total := machineMemory(); total > 0 {
		return total / 4
	}
	return 2 << 30
}

// machineMemory is MemTotal from /proc/meminfo (Linux), 0 elsewhere.
func machineMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
