package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// lockedBuffer collects a program's output while it runs and lets a
// watcher wait for a line.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{})} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output matches re, done closes or ctx ends,
// and returns the match's first group.
func (b *lockedBuffer) waitFor(ctx context.Context, re *regexp.Regexp, done <-chan struct{}) (string, bool) {
	for {
		b.mu.Lock()
		m := re.FindStringSubmatch(b.buf.String())
		ch := b.changed
		b.mu.Unlock()
		if m != nil {
			if len(m) > 1 {
				return m[1], true
			}
			return m[0], true
		}
		select {
		case <-ch:
		case <-done:
			return "", false
		case <-ctx.Done():
			return "", false
		}
	}
}

var (
	listeningRe = regexp.MustCompile(`tether serve: listening on (\S+);`)
	readyRe     = regexp.MustCompile(`tether serve: ready in`)
)

// servedTether is a `tether serve run` process under test.
type servedTether struct {
	cmd    *exec.Cmd
	URL    string
	Stderr *lockedBuffer
	done   chan struct{}
	err    error
}

// startServedTether starts `tether serve run MODEL --port 0 ARGS…` with
// extra environment variables and waits until it is ready.
func startServedTether(ctx context.Context, tether, model string, env []string, args ...string) (*servedTether, error) {
	cmd := exec.Command(tether, append([]string{"serve", "run", model, "--port", "0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	s := &servedTether{cmd: cmd, Stderr: newLockedBuffer(), done: make(chan struct{})}
	cmd.Stderr = s.Stderr
	cmd.Stdout = s.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	url, ok := s.Stderr.waitFor(wait, listeningRe, s.done)
	if ok {
		s.URL = url
		_, ok = s.Stderr.waitFor(wait, readyRe, s.done)
	}
	if !ok {
		s.Kill()
		return nil, fmt.Errorf("tether serve did not become ready: %s", firstLines(s.Stderr.String(), 4))
	}
	return s, nil
}

// Pid is the server's process id.
func (s *servedTether) Pid() int { return s.cmd.Process.Pid }

// Alive reports whether the server process still runs.
func (s *servedTether) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for the end; it returns the exit status
// (-1 for a signal, or when the server had to be killed).
func (s *servedTether) Stop() int {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.Kill()
		return -1
	}
	return s.cmd.ProcessState.ExitCode()
}

// Kill ends the server at once.
func (s *servedTether) Kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// httpClient is the client of the request trials: no overall timeout
// (each trial gives its own context), no pooled connection kept idle
// for long.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second}}

// post sends body to path and returns the status and at most 64 KiB of
// the answer.
func post(ctx context.Context, url string, body io.Reader, header map[string]string) (int, string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, string(data), resp.Header, err
}

// normalChat is a small, valid chat request.
func normalChat(model string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"hello"}],"max_tokens":4}`
}

// answersNormally checks that the server answers a small, valid request.
func answersNormally(ctx context.Context, s *servedTether, model string, header map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if !s.Alive() {
		return errors.New("the server is gone: " + lastLine(s.Stderr.String()))
	}
	status, body, _, err := post(ctx, s.URL+"/v1/chat/completions", strings.NewReader(normalChat(model)), header)
	switch {
	case err != nil:
		return fmt.Errorf("a normal request after it: %v", err)
	case status != http.StatusOK:
		return fmt.Errorf("a normal request after it: status %d: %.200s", status, body)
	}
	return nil
}
