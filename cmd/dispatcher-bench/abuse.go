package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// abuseFigures are the receiver under abuse: eight senders posting 16 MiB events at once,
// then the pathological batch, each while one sender posts small sample events one after
// another and times them.
type abuseFigures struct {
	rounds, senders, bigBytes int
	bigCodes                  map[int]int
	bigLat, smallDuringBig    []time.Duration
	batchEvents, batchBytes   int
	batchCode                 int
	batchTime                 time.Duration
	smallDuringBatch          []time.Duration
	smallErrors               int
	receiver                  memStatus
}

// abuseBigBytes is the size of each large event: the default MAX_EVENT_BYTES (16 MiB) less
// a little, so that it is taken.
const abuseBigBytes = 16<<20 - 4<<10

// measureAbuse runs the abuse part against a receiver in a child process.
func measureAbuse(ctx context.Context, env *benchEnv, rounds int) (abuseFigures, error) {
	f := abuseFigures{rounds: rounds, senders: 8, bigBytes: abuseBigBytes, bigCodes: map[int]int{}}
	schema, drop, err := privateSchema(ctx, env.dbURL)
	if err != nil {
		return f, err
	}
	defer drop()
	prefix := "bench." + dsn.Token()
	defer devenv.DeleteQueues(env.mqURL, prefix)
	proc, err := startDispatcher(ctx, env.dispatcher, dispatcherEnv(env.dbURL, env.mqURL, schema, prefix, env.queueType,
		filepath.Join(env.tmp, "abuse"), "ROLE=receiver"))
	if err != nil {
		return f, err
	}
	defer proc.Stop()
	next, err := eventBodies(env.sample)
	if err != nil {
		return f, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer client.CloseIdleConnections()

	// small posts sample events one after another until stop is closed, timing each.
	small := func(stop <-chan struct{}) []time.Duration {
		var lat []time.Duration
		for {
			select {
			case <-stop:
				return lat
			default:
			}
			start := time.Now()
			resp, err := proc.post(ctx, client, next())
			if err != nil {
				f.smallErrors++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				f.smallErrors++
			}
			lat = append(lat, time.Since(start))
		}
	}

	// Eight large events at once, rounds times.
	big := make([]byte, 0, abuseBigBytes)
	for r := range rounds {
		stop := make(chan struct{})
		got := make(chan []time.Duration, 1)
		go func() { got <- small(stop) }()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for s := range f.senders {
			body := largeEvent(big[:0], fmt.Sprintf("abuse-large-%d-%d", r, s))
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				code := 0
				if resp, err := proc.post(ctx, client, body); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				f.bigCodes[code]++
				f.bigLat = append(f.bigLat, time.Since(start))
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(stop)
		f.smallDuringBig = append(f.smallDuringBig, <-got...)
	}

	// The pathological batch: CloudEvents of 2000 CSV files each, which the proxymod filter
	// compares with every key/value.
	batch, n := costlyBatch(env.sample, 42, 2000)
	f.batchEvents, f.batchBytes = n, len(batch)
	stop := make(chan struct{})
	got := make(chan []time.Duration, 1)
	go func() { got <- small(stop) }()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, proc.base+"/receive", bytes.NewReader(batch))
	if err != nil {
		return f, err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	proc.sender.Authorize(req)
	if resp, err := client.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		f.batchCode = resp.StatusCode
	}
	f.batchTime = time.Since(start)
	// Keep timing small events a little after the answer: the batch's jobs are published
	// in the background.
	time.Sleep(time.Second)
	close(stop)
	f.smallDuringBatch = <-got
	if f.receiver, err = proc.Memory(); err != nil {
		return f, err
	}
	return f, proc.Stop()
}

// largeEvent is a Pacifica event of abuseBigBytes whose data is a list of small objects:
// the shape that decodes to many times its size.
func largeEvent(buf []byte, id string) []byte {
	buf = fmt.Appendf(buf, `{"cloudEventsVersion":"0.1","eventType":"org.pacifica.metadata.ingest","source":"/bench/abuse",`+
		`"eventID":%q,"eventTime":"2026-12-07T00:00:00","extensions":{},"contentType":"application/json","data":[`, id)
	for len(buf) < abuseBigBytes-16 {
		buf = append(buf, `{"a":0},`...)
	}
	return append(buf, `{}]}`...)
}

// costlyBatch is a CloudEvents 1.0 batch of n events, each the sample's data with files
// CSV files in front.
func costlyBatch(sample []byte, n, files int) ([]byte, int) {
	var ev struct {
		Data []json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(sample, &ev)
	entries := make([]json.RawMessage, 0, files+len(ev.Data))
	for i := range files {
		entries = append(entries, json.RawMessage(fmt.Sprintf(`{"destinationTable":"Files","_id":%d,"name":"c%04d.csv",`+
			`"subdir":"inputs/","size":10,"hashtype":"sha1","hashsum":"%s","mimetype":"text/csv"}`, 200000+i, i, strings.Repeat("0", 40))))
	}
	entries = append(entries, ev.Data...)
	data, _ := json.Marshal(entries)
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"specversion":"1.0","id":"abuse-costly-%d","source":"/bench/abuse","type":"org.pacifica.metadata.ingest",`+
			`"datacontenttype":"application/json","data":%s}`, i, data)
	}
	b.WriteByte(']')
	return b.Bytes(), n
}

func (f abuseFigures) rows(t *table) {
	codes := make([]string, 0, len(f.bigCodes))
	keys := make([]int, 0, len(f.bigCodes))
	for c := range f.bigCodes {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for _, c := range keys {
		codes = append(codes, fmt.Sprintf("%d× %d", f.bigCodes[c], c))
	}
	slices.Sort(f.bigLat)
	slices.Sort(f.smallDuringBig)
	slices.Sort(f.smallDuringBatch)
	t.add("abuse: 16 MiB events at once", fmt.Sprintf("%d senders × %d rounds, %s of small objects each", f.senders, f.rounds, fmtSize(int64(f.bigBytes))),
		strings.Join(codes, ", "), fmtLatency(f.bigLat, .50), fmtLatency(f.bigLat, .95), fmtLatency(f.bigLat, .99),
		"goal: every one answered 2xx")
	t.add("abuse: a small event meanwhile", "the sample event, one after another", fmt.Sprintf("%d events", len(f.smallDuringBig)),
		fmtLatency(f.smallDuringBig, .50), fmtLatency(f.smallDuringBig, .95), fmtLatency(f.smallDuringBig, .99), "goal: p99 under 50 ms")
	t.add("abuse: the pathological batch", fmt.Sprintf("%d CloudEvents of 2000 CSV files each, %s", f.batchEvents, fmtSize(int64(f.batchBytes))),
		fmt.Sprintf("%d", f.batchCode), fmtDuration(f.batchTime), "", "", "answered once every event is durable (routing bounded: recorded unrouted)")
	t.add("abuse: a small event meanwhile", "the sample event, one after another", fmt.Sprintf("%d events", len(f.smallDuringBatch)),
		fmtLatency(f.smallDuringBatch, .50), fmtLatency(f.smallDuringBatch, .95), fmtLatency(f.smallDuringBatch, .99),
		fmt.Sprintf("goal: p99 under 50 ms; %d small events not answered 202", f.smallErrors))
	t.add("abuse: receiver peak RSS", "serve ROLE=receiver (child), the whole part", fmtMiB(f.receiver.Peak), "", "", "",
		"goal: under 128 MiB; VmHWM, RSS at the end "+fmtMiB(f.receiver.RSS))
}
