package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// outcome is what became of one delivery.
type outcome struct {
	d       delivery
	status  int    // the final answer's status; 0 when the last try had no answer
	reason  string // the final failure, "" for a 2xx
	heldIn  string
	jobs    []string
	retries []failure // the tries that failed and were tried again
	at      time.Time // when the final answer came
}

// failure is one failed try: when, and why (a status or a connection error).
type failure struct {
	at     time.Time
	reason string
	status int
}

// sender posts deliveries to the receivers (through the front door) from a number of
// goroutines, at a steady rate, like a resilient client: a connection error, the front
// door's 502 or a 503 is tried again after a pause (Retry-After, at most 5 s), up to
// maxTries; every failed try is counted.
type sender struct {
	url         string
	auth        devenv.Sender
	concurrency int
	rate        float64 // deliveries per second; 0: as fast as the receiver answers
	maxTries    int
	client      *http.Client
}

func newSender(url string, auth devenv.Sender, concurrency int, rate float64) *sender {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	return &sender{url: url, auth: auth, concurrency: concurrency, rate: rate, maxTries: 30,
		client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// run sends every delivery and returns their outcomes, in plan order.
func (s *sender) run(ctx context.Context, plan []delivery) []outcome {
	out := make([]outcome, len(plan))
	next := make(chan int)
	go func() {
		defer close(next)
		var tick <-chan time.Time
		if s.rate > 0 {
			t := time.NewTicker(time.Duration(float64(time.Second) / s.rate))
			defer t.Stop()
			tick = t.C
		}
		for i := range plan {
			if tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
					return
				}
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < s.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = s.deliver(ctx, plan[i])
			}
		}()
	}
	wg.Wait()
	return out[:sentCount(out)]
}

// sentCount is the length of the prefix of outcomes that were sent (an interrupted run
// leaves the rest empty).
func sentCount(out []outcome) int {
	n := 0
	for i := range out {
		if !out[i].at.IsZero() {
			n = i + 1
		}
	}
	return n
}

func (s *sender) deliver(ctx context.Context, d delivery) outcome {
	o := outcome{d: d}
	for try := 1; ; try++ {
		status, retryAfter, ans, err := s.post(ctx, d.body)
		now := time.Now()
		switch {
		case err == nil && status/100 == 2:
			o.status, o.reason, o.heldIn, o.at = status, "", ans.HeldIn, now
			for _, j := range ans.Jobs {
				o.jobs = append(o.jobs, j.ID)
			}
			return o
		case err == nil:
			o.status, o.reason = status, strconv.Itoa(status)+" "+http.StatusText(status)
		default:
			o.status, o.reason = 0, connReason(err)
		}
		o.at = now
		retryable := err != nil || status == http.StatusServiceUnavailable
		if !retryable || try >= s.maxTries || ctx.Err() != nil {
			return o
		}
		o.retries = append(o.retries, failure{at: now, reason: o.reason, status: status})
		pause := 500 * time.Millisecond
		if retryAfter > 0 {
			pause = min(retryAfter, 5*time.Second)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return o
		}
	}
}

type answer struct {
	HeldIn string `json:"held_in"`
	Jobs   []struct {
		ID string `json:"id"`
	} `json:"jobs"`
}

func (s *sender) post(ctx context.Context, body []byte) (int, time.Duration, answer, error) {
	var a answer
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, a, err
	}
	req.Header.Set("Content-Type", "application/json")
	s.auth.Authorize(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, a, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, a, err
	}
	if resp.StatusCode == http.StatusBadGateway && resp.Header.Get(frontDoorHeader) != "" {
		// Not the receiver's answer: the front door could not reach one, as a connection
		// through a Service would fail.
		return 0, 0, a, errFrontDoor
	}
	var ra time.Duration
	if v, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		ra = time.Duration(v) * time.Second
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, &a); err != nil {
			return resp.StatusCode, ra, a, fmt.Errorf("the 2xx answer is not the receiver's JSON: %w", err)
		}
	}
	return resp.StatusCode, ra, a, nil
}

// errFrontDoor is the front door's 502: no receiver answered.
var errFrontDoor = errors.New("front door: no answer from a receiver")

// connReason names a connection error briefly.
func connReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errFrontDoor):
		return "502 from the front door (no receiver answered)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the answer"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer within 60s"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
