package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// uploadMarkKey marks the uploads the run makes through the simulator (its value is the
// upload's number): ingest stores them, metadata sends notifications their event,
// notifications delivers it to the subscription, through the front door.
const uploadMarkKey = "chaos.upload"

// disabledBurst is how many uploads are made at once right after the subscription is
// disabled by hand.
const disabledBurst = 5

// scriptRoute is the route of the run's script, and the name of its subscription.
const scriptRoute = "script.list-files"

// simLoad makes real uploads through the simulated Pacifica, one every `every`, until
// stopped. An upload that fails (ingest failing or hanging is one of the faults) is not
// tried again: the uploads that count are the transactions ingest stored, found at the
// end by their mark.
type simLoad struct {
	st    *site
	dir   string
	every time.Duration

	wg     sync.WaitGroup
	mu     sync.Mutex
	n      int
	failed int
}

func (l *simLoad) run(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(l.every)
	defer t.Stop()
	defer l.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
		l.burst(ctx, 1)
	}
}

// burst starts n uploads at once, each in its own goroutine: a hanging ingest holds back
// no later upload.
func (l *simLoad) burst(ctx context.Context, n int) {
	for range n {
		l.mu.Lock()
		l.n++
		k := l.n
		l.mu.Unlock()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if err := l.upload(ctx, k); err != nil {
				l.mu.Lock()
				l.failed++
				l.mu.Unlock()
			}
		}()
	}
}

func (l *simLoad) upload(ctx context.Context, n int) error {
	dir := filepath.Join(l.dir, "uploads", strconv.Itoa(n))
	for rel, body := range map[string]string{"data/upload.txt": fmt.Sprintf("upload %d of the chaos run\n", n)} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	meta := pacifica.UploadMeta{Submitter: json.RawMessage("10"), Project: json.RawMessage(`"1234a"`),
		Instrument: json.RawMessage("54"),
		KeyValues: []pacifica.KeyValue{{Key: "do_processing", Value: json.RawMessage(`"True"`)},
			{Key: uploadMarkKey, Value: json.RawMessage(strconv.Quote(strconv.Itoa(n)))}}}
	_, err := l.st.pc.Ingest.Upload(ctx, dir, meta)
	return err
}

func (l *simLoad) counts() (tried, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.failed
}

// subscribe runs `dispatcher subscribe` as an operator would: one subscription per route,
// delivering to the front door with the sender credentials.
func subscribe(bin string, env []string, target string, snd devenv.Sender) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "subscribe", "--url", target, "--auth-basic", snd.Username+":"+snd.Password)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("dispatcher subscribe: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// findSubscription returns the run's subscription of the script route.
func findSubscription(sim *pacificasim.Sim) (pacificasim.Subscription, bool) {
	for _, s := range sim.Subscriptions() {
		if s.Name == scriptRoute && s.User == "dispatcher" && s.Deleted == nil {
			return s, true
		}
	}
	return pacificasim.Subscription{}, false
}

// withCredentials reports whether the subscription delivers with the sender's password.
func withCredentials(s pacificasim.Subscription, snd devenv.Sender) bool {
	return strings.Contains(string(s.Auth), snd.Password)
}

// disableByHand is the operator's PUT that disables the subscription; notifications'
// update also erases the credentials of a body that lacks them.
func (c *chaos) disableByHand(ctx context.Context) error {
	sub, ok := findSubscription(c.sim)
	if !ok {
		return fmt.Errorf("no subscription %s at notifications", scriptRoute)
	}
	from := time.Now()
	uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.pc.Notifications.Update(uctx, "dispatcher", sub.UUID, map[string]any{
		"disabled": from.UTC().Format("2006-01-02T15:04:05"), "error": "paused by hand by the chaos run"}); err != nil {
		return fmt.Errorf("PUT the subscription disabled: %w", err)
	}
	// Uploads while it is disabled, besides the steady ones: notifications drops their
	// events, catch-up must find them.
	c.load.burst(ctx, disabledBurst)
	c.log("subscription %s disabled by hand (PUT; its credentials erased), %d uploads at once; waiting for the watchdog",
		scriptRoute, disabledBurst)
	for deadline := time.Now().Add(c.reenableLimit); ; {
		if s, ok := findSubscription(c.sim); ok && s.Active() && withCredentials(s, c.snd) {
			break
		}
		if time.Now().After(deadline) {
			c.record("subscription", from)
			c.mu.Lock()
			c.reenable = -1
			c.mu.Unlock()
			return fmt.Errorf("not re-enabled with its credentials within %s", c.reenableLimit)
		}
		if !pause(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	took := time.Since(from)
	c.record("subscription", from)
	c.mu.Lock()
	c.reenable = took
	c.mu.Unlock()
	c.log("subscription %s re-enabled by the watchdog, with its credentials, %s after", scriptRoute, took.Round(10*time.Millisecond))
	return nil
}

// simUpload is one upload the run made through the simulator, and what became of it.
type simUpload struct {
	tx        int64
	created   time.Time
	eventID   string
	delivered bool     // notifications delivered its event with a 2xx answer
	jobs      []string // the dispatcher's jobs of its event
	recovered bool     // its job's event was rebuilt by catch-up
	results   int      // the result transactions that name it as their source
}

// simUploads lists the run's uploads through the simulator (the transactions carrying
// the mark) with their deliveries, jobs and results.
func simUploads(sim *pacificasim.Sim, jobs map[string]jobView, base string) []simUpload {
	txs := sim.Transactions()
	delivered := map[string]bool{}
	for _, d := range sim.Deliveries() {
		if d.Error == "" {
			delivered[d.EventID] = true
		}
	}
	jobsOf := map[string][]string{}
	for id, j := range jobs {
		jobsOf[j.EventID] = append(jobsOf[j.EventID], id)
	}
	results := map[int64]int{}
	for _, tx := range txs {
		for _, kv := range tx.KeyValues {
			var src int64
			if kv.Key == pacifica.LineageKey && json.Unmarshal(kv.Value, &src) == nil {
				results[src]++
			}
		}
	}
	var out []simUpload
	for _, tx := range txs {
		marked := false
		for _, kv := range tx.KeyValues {
			marked = marked || kv.Key == uploadMarkKey
		}
		if !marked {
			continue
		}
		u := simUpload{tx: tx.ID, created: tx.Created, eventID: "metadata.ingest." + strconv.FormatInt(tx.ID, 10)}
		u.delivered = delivered[u.eventID]
		u.jobs = jobsOf[u.eventID]
		u.results = results[tx.ID]
		if len(u.jobs) == 1 {
			u.recovered = recoveredByCatchUp(base, u.jobs[0])
		}
		out = append(out, u)
	}
	return out
}

// recoveredByCatchUp reports whether the job's event is one catch-up rebuilt (it carries
// the extension dispatcher_recovered_by, shown by GET /get/{id}).
func recoveredByCatchUp(base, job string) bool {
	var v map[string]any
	if err := devenv.GetJSON(base+"/get/"+job, &v); err != nil {
		return false
	}
	b, _ := json.Marshal(v)
	return strings.Contains(string(b), "dispatcher_recovered_by")
}

// simEventIDs are the event ids of the uploads, for settle.
func simEventIDs(sim *pacificasim.Sim) map[string]bool {
	out := map[string]bool{}
	for _, tx := range sim.Transactions() {
		for _, kv := range tx.KeyValues {
			if kv.Key == uploadMarkKey {
				out["metadata.ingest."+strconv.FormatInt(tx.ID, 10)] = true
			}
		}
	}
	return out
}

// waitIngestIdle waits until every ingest job of the simulator has ended (a worker killed
// after ingest took its upload leaves one running), or limit.
func waitIngestIdle(ctx context.Context, sim *pacificasim.Sim, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); ; {
		busy := false
		for id := int64(1); ; id++ {
			j, ok := sim.Job(id)
			if !ok {
				break
			}
			if !j.Done() {
				busy = true
				break
			}
		}
		if !busy {
			return true
		}
		if time.Now().After(deadline) || !pause(ctx, 500*time.Millisecond) {
			return false
		}
	}
}
