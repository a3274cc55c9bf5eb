package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// chatAnswer is what one streamed chat completion gave.
type chatAnswer struct {
	// Status is the HTTP status.
	Status int
	// RetryAfter is the Retry-After header of a refusal.
	RetryAfter string
	// Text is the content, joined from the deltas.
	Text string
	// Finish is the finish reason of the last choice ("" if none came).
	Finish string
	// Done says the stream ended with "data: [DONE]".
	Done bool
	// IDs are the distinct completion ids the chunks carried: one for an
	// answer that is not mixed with another.
	IDs []string
}

// chatParams is one request.
type chatParams struct {
	Prompt    string
	MaxTokens int
	Seed      int64
	// OnText, if set, is called with each piece of content as it comes.
	OnText func(string)
}

// streamChat sends a streaming, greedy chat completion to base (the
// server's root URL) and reads the server-sent events as a client
// written from the OpenAI documentation would, without tether's code.
// An error means the request failed or the stream broke before its end.
func streamChat(ctx context.Context, client *http.Client, base string, p chatParams) (chatAnswer, error) {
	body, _ := json.Marshal(map[string]any{
		"model":       "chaos",
		"messages":    []map[string]string{{"role": "user", "content": p.Prompt}},
		"stream":      true,
		"max_tokens":  p.MaxTokens,
		"temperature": 0,
		"seed":        p.Seed,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return chatAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return chatAnswer{}, err
	}
	defer resp.Body.Close()
	a := chatAnswer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return a, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			a.Done = true
			break
		}
		var chunk struct {
			ID      string `json:"id"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return a, fmt.Errorf("bad chunk %.80q: %w", data, err)
		}
		if chunk.Error != nil {
			a.Text = text.String()
			return a, fmt.Errorf("error event: %s", chunk.Error.Message)
		}
		if chunk.ID != "" && !slices.Contains(a.IDs, chunk.ID) {
			a.IDs = append(a.IDs, chunk.ID)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
			if p.OnText != nil && c.Delta.Content != "" {
				p.OnText(c.Delta.Content)
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				a.Finish = *c.FinishReason
			}
		}
	}
	a.Text = text.String()
	if err := sc.Err(); err != nil {
		return a, err
	}
	if !a.Done {
		return a, errors.New("the stream ended without [DONE]")
	}
	return a, nil
}

// waitHealthy polls base's /health until it answers 200 or d passes.
func waitHealthy(ctx context.Context, base string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not healthy within %s (last: %v)", base, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// retryAfterSeconds reads a Retry-After header in seconds (0 if absent or
// not a number).
func retryAfterSeconds(v string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}
