package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetherllm/tether/internal/testmodel"
)

func init() {
	register(Suite{
		Order: 40,
		Group: "Load",
		About: "A real `tether serve` on a tiny model, 4 slots and a queue of 40, under 64 concurrent streaming clients for a fixed time, " +
			"each asking its own question greedily (temperature 0, fixed seed) again and again and hanging up at a " +
			"random moment in about a third of its requests. Each answer that completes is compared with the answer " +
			"to the same question asked alone before the load: any difference, a stream with two completion ids, or " +
			"a request that fails without being hung up is a failure; a 429 or 503 with Retry-After is counted, not " +
			"failed. Afterwards the server's threads, resident memory and in-flight gauges are compared with their " +
			"values before the load.",
		Run: runLoadSuite,
	})
}

const (
	loadClients   = 64
	loadSlots     = 4
	loadMaxTokens = 24
	// loadQueue is the server's queue: smaller than the clients, so that
	// some requests are refused and their Retry-After is checked.
	loadQueue = 40
	// loadRSSGrowth bounds the server's resident memory after the load
	// over before it: slots and caches are made at load time, so what
	// the load may leave is the Go heap's retained garbage.
	loadRSSGrowth = 64 << 20
	// loadThreadGrowth bounds new OS threads: Go keeps the threads it
	// made for blocking system calls, but a leak grows without bound.
	loadThreadGrowth = 16
)

// loadPrompt is client i's question.
func loadPrompt(i int) string {
	return fmt.Sprintf("question %d: what is the colour of thing number %d?", i, i*7+3)
}

func runLoadSuite(ctx context.Context, e *Env) ([]Row, error) {
	tether, err := e.Tether(ctx)
	if err != nil {
		return nil, err
	}
	model, err := e.Model(testmodel.Spec{WordsOnly: true, Seed: 11})
	if err != nil {
		return nil, err
	}
	m, err := newTrial(e, "load")
	if err != nil {
		return nil, err
	}
	s, base, err := startServe(m, tether, model, []string{"--parallel", strconv.Itoa(loadSlots), "--ctx", "512", "--max-queue", strconv.Itoa(loadQueue)})
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}

	// The reference answers, one question at a time.
	refs := make([]string, loadClients)
	for i := range refs {
		a, err := streamChat(ctx, client, base, chatParams{Prompt: loadPrompt(i), MaxTokens: loadMaxTokens, Seed: 1})
		if err != nil {
			return nil, fmt.Errorf("reference answer %d: %w", i, err)
		}
		if a.Text == "" || a.Finish != "length" {
			return nil, fmt.Errorf("reference answer %d: %q, finish %q", i, a.Text, a.Finish)
		}
		refs[i] = a.Text
	}
	// The same question twice alone gives the same answer (else the
	// comparison below means nothing).
	if a, err := streamChat(ctx, client, base, chatParams{Prompt: loadPrompt(0), MaxTokens: loadMaxTokens, Seed: 1}); err != nil || a.Text != refs[0] {
		return nil, fmt.Errorf("the same greedy request alone gave %q then %q (%v)", refs[0], a.Text, err)
	}
	before, ok := readMemStatus(s.PID())
	if !ok {
		return nil, errors.New("cannot read the server's /proc status")
	}

	row := Row{Name: fmt.Sprintf("%d streaming clients with random hang-ups, %d slots, queue %d", loadClients, loadSlots, loadQueue)}
	began := time.Now()
	d := e.Duration(60*time.Second, 10*time.Second)
	seeds := make([]uint64, loadClients)
	for i := range seeds {
		seeds[i] = e.Rand.Uint64()
	}
	var (
		mu                                     sync.Mutex
		completed, hungUp, refused, noRetryAft int
		peakRSS                                int64
	)
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// The server's memory is watched through the load.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for lctx.Err() == nil {
			if st, ok := readMemStatus(s.PID()); ok {
				mu.Lock()
				peakRSS = max(peakRSS, st.RSS)
				mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for i := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seeds[i], uint64(i)))
			for lctx.Err() == nil {
				hangUp := rng.IntN(3) == 0
				rctx, rcancel := context.WithCancel(lctx)
				if hangUp {
					time.AfterFunc(time.Duration(rng.Int64N(int64(150*time.Millisecond))), rcancel)
				}
				a, err := streamChat(rctx, client, base, chatParams{Prompt: loadPrompt(i), MaxTokens: loadMaxTokens, Seed: 1})
				hung := rctx.Err() != nil
				rcancel()
				if lctx.Err() != nil && err != nil {
					return // the load's own end cut it
				}
				mu.Lock()
				switch {
				case err != nil && hung:
					hungUp++
				case err != nil && (a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable):
					refused++
					if retryAfterSeconds(a.RetryAfter) <= 0 {
						noRetryAft++
						row.Check(fmt.Errorf("client %d: HTTP %d without a Retry-After", i, a.Status))
					}
				case err != nil:
					row.Check(fmt.Errorf("client %d: lost answer: %v", i, err))
				case a.Text != refs[i]:
					row.Check(fmt.Errorf("client %d: answer %q, alone it was %q", i, a.Text, refs[i]))
				case len(a.IDs) != 1:
					row.Check(fmt.Errorf("client %d: one stream carried completion ids %v", i, a.IDs))
				default:
					completed++
					row.Check(nil)
				}
				mu.Unlock()
				if wait := retryAfterSeconds(a.RetryAfter); err != nil && wait > 0 {
					// A client does as it is told: it waits, then asks again.
					select {
					case <-lctx.Done():
					case <-time.After(time.Duration(wait) * time.Second):
					}
				}
			}
		}()
	}
	wg.Wait()
	<-watchDone
	row.Trials += hungUp + refused - noRetryAft
	row.Bound = fmt.Sprintf("every answer not hung up is complete and equal to the same question's answer alone, one completion id a stream (%d answers compared, %d hung up, %d refused with Retry-After, over %s)",
		completed, hungUp, refused, d)
	row.Elapsed = time.Since(began)
	rows := []Row{row}

	// After the load: the gauges return to idle, the server answers as
	// before, threads and memory are steady.
	after := Row{Name: "the server after the load: idle, answering, threads and memory steady"}
	settled := time.Now()
	var gauges string
	for {
		gauges, err = idleGauges(ctx, client, base)
		if err == nil || time.Since(settled) > 10*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	after.Check(err)
	a, err := streamChat(ctx, client, base, chatParams{Prompt: loadPrompt(5), MaxTokens: loadMaxTokens, Seed: 1})
	if err == nil && a.Text != refs[5] {
		err = fmt.Errorf("after the load the answer is %q, before it was %q", a.Text, refs[5])
	}
	after.Check(err)
	end, ok := readMemStatus(s.PID())
	if !ok {
		after.Check(errors.New("cannot read the server's /proc status"))
	} else {
		var terr, merr error
		if end.Threads > before.Threads+loadThreadGrowth {
			terr = fmt.Errorf("threads %d before the load, %d after", before.Threads, end.Threads)
		}
		after.Check(terr)
		if end.RSS > before.RSS+loadRSSGrowth {
			merr = fmt.Errorf("RSS %s before the load, %s after", mib(before.RSS), mib(end.RSS))
		}
		after.Check(merr)
	}
	after.Bound = fmt.Sprintf("%s within 10 s; the answer as before; threads ≤ before + %d (%d → %d); RSS ≤ before + %s (%s → %s, peak %s during the load)",
		gauges, loadThreadGrowth, before.Threads, end.Threads, mib(loadRSSGrowth), mib(before.RSS), mib(end.RSS), mib(peakRSS))
	after.Elapsed = time.Since(settled)
	rows = append(rows, after)

	// The server still stops cleanly after all that.
	s.Kill(syscall.SIGTERM)
	code, err := s.Wait(20 * time.Second)
	if err == nil && code != 0 {
		err = fmt.Errorf("tether serve exited %d after SIGTERM; stderr: %s", code, tail(s.Err.String()))
	}
	stop := Row{Name: "tether serve stops on SIGTERM after the load"}
	stop.Check(err)
	stop.Bound = "exit 0 within 20 s"
	rows = append(rows, stop)
	return rows, nil
}

// idleGauges reads /metrics and checks that nothing is in flight, queued
// or holding a slot; it returns the gauges read.
func idleGauges(ctx context.Context, client *http.Client, base string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	var shown []string
	var busy error
	for line := range strings.SplitSeq(string(body), "\n") {
		for _, g := range []string{"tether_requests_in_flight", "tether_queue_depth", "tether_slots_active"} {
			if v, ok := strings.CutPrefix(line, g+" "); ok {
				shown = append(shown, g+" "+v)
				want := "0"
				if g == "tether_requests_in_flight" {
					want = "1" // the scrape itself
				}
				if strings.TrimSpace(v) != want {
					busy = fmt.Errorf("%s is %s after the load", g, v)
				}
			}
		}
	}
	if len(shown) != 3 {
		return "", fmt.Errorf("/metrics lacks the in-flight gauges: %s", tail(string(body)))
	}
	return strings.Join(shown, ", "), busy
}
