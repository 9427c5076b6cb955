package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

const traceback = "Traceback (most recent call last):\n" +
	"  File \"/usr/lib/python3/site-packages/ingest/orm.py\", line 12, in update_state\n" +
	"    raise ValueError('bad tar')\n" +
	"ValueError: bad tar"

func TestErrorText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"plain error", "plain error"},
		{"ingest: upload: 500 Internal Server Error: NUL\x00here", `ingest: upload: 500 Internal Server Error: NUL\x00here`},
		{"bad byte \xff\xfe end", `bad byte \xff\xfe end`},
		{"cut in the middle of \xe2\x82", `cut in the middle of \xe2\x82`},
		{"escape \x1b[31mred\x1b[0m, bell \x07, CR \r, DEL \x7f", `escape \x1b[31mred\x1b[0m, bell \x07, CR \r, DEL \x7f`},
		{"C1 \u0085 and bidi \u202eevil\u202c", `C1 \u0085 and bidi \u202eevil\u202c`},
		{"lines\nand\ttabs kept, é and 漢 too", "lines\nand\ttabs kept, é and 漢 too"},
		{"ingest: state of upload job 3: FAILED in \"ingest metadata\": " + traceback,
			"ingest: state of upload job 3: FAILED in \"ingest metadata\": ValueError: bad tar"},
		{"model failed\nstderr (tail):\nsome output\n" + traceback + "\n",
			"model failed\nstderr (tail):\nsome output\nValueError: bad tar\n"},
		{traceback + "\n\nDuring handling of the above exception, another exception occurred:\n\n" +
			"Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nRuntimeError: second",
			"RuntimeError: second"},
		{"prefix: " + traceback + "\n\nThe above exception was the direct cause of the following exception:\n\n" +
			"Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nKeyError: 'k'",
			"prefix: KeyError: 'k'"},
		{"Traceback (most recent call last):\n  File \"x.py\", line 1", "Traceback (most recent call last):\n  File \"x.py\", line 1"},
	}
	for _, tc := range cases {
		if got := ErrorText(tc.in); got != tc.want {
			t.Errorf("ErrorText(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("é", 5000) + "\x00" + strings.Repeat("x", 5000) + "the end"
	got := ErrorText(long)
	if len(got) > MaxErrorBytes || !utf8.ValidString(got) || strings.ContainsRune(got, 0) ||
		!strings.HasPrefix(got, "éé") || !strings.HasSuffix(got, "the end") || !strings.Contains(got, "bytes cut") {
		t.Errorf("a long error: %d bytes, valid %v: %.80q … %q", len(got), utf8.ValidString(got), got, got[len(got)-20:])
	}
	if got := LogText("a\x00b\n" + traceback); got != `a\x00b`+"\n"+traceback {
		t.Errorf("LogText keeps tracebacks and escapes NUL: %q", got)
	}
}

func FuzzErrorText(f *testing.F) {
	f.Add("ingest: " + traceback)
	f.Add("\x00\xff\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		got := ErrorText(s)
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || len(got) > MaxErrorBytes {
			t.Errorf("ErrorText(%q) = %q", s, got)
		}
		if strings.IndexFunc(got, escaped) >= 0 {
			t.Errorf("ErrorText(%q) = %q holds a control character", s, got)
		}
	})
}

// What an attempt leaves reaches PostgreSQL cleaned; what PostgreSQL still refuses for its
// data ends the job rather than leaving its lease to expire (which ran it, and uploaded,
// again).
func TestFinishStoresCleanErrorsAndDataErrorsArePermanent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := jobstore.Open(ctx, jobstore.Config{URL: testsupport.Schema(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &Worker{cfg: Config{Store: store, Owner: "w1", Lease: 3 * time.Second, BackoffBase: time.Millisecond,
		BackoffMax: time.Millisecond, Metrics: NewMetrics(nil), Logger: slog.New(slog.DiscardHandler)}}
	tx := int64(42)
	nulDetails := json.RawMessage(`{"message": "ingest said \u0000"}`) // jsonb refuses \u0000: SQLSTATE 22P05
	cases := []struct {
		name      string
		res       Result
		err       error
		state     jobstore.State
		errHas    string
		errLacks  []string
		logHas    string
		noDetails bool
	}{
		{name: "NUL, invalid UTF-8 and a traceback from ingest", err: Permanent(errors.New("ingest: FAILED: bad\x00name\xff: " + traceback)),
			state: jobstore.Failed, errHas: `ingest: FAILED: bad\x00name\xff: ValueError: bad tar`,
			errLacks: []string{"Traceback", "\x00"}, logHas: "Traceback (most recent call last):"},
		{name: "transient, given up", err: Transient(errors.New("cartd: 503 \x00")), state: jobstore.Failed,
			errHas: `gave up after 1 attempts: cartd: 503 \x00`},
		{name: "details PostgreSQL refuses, failed", res: Result{TransactionID: &tx, Details: nulDetails},
			err: Permanent(errors.New("the model raised")), state: jobstore.Failed,
			errHas: "could not be recorded: PostgreSQL refused its data (SQLSTATE 22P05)", logHas: "the model raised", noDetails: true},
		{name: "details PostgreSQL refuses, succeeded", res: Result{TransactionID: &tx, Details: nulDetails},
			state: jobstore.Succeeded, noDetails: true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "src-" + string(rune('a'+i))
			id := jobstore.JobID(src, "e", "r")
			if _, err := store.Record(ctx, jobstore.NewEvent{Source: src, ID: "e", Type: "t", Body: []byte(`{}`),
				ContentType: "application/json", ReceivedAt: time.Now()},
				[]jobstore.NewJob{{ID: id, Route: "r", State: jobstore.Queued, MaxAttempts: 1}}); err != nil {
				t.Fatal(err)
			}
			claimed, err := store.Claim(ctx, id, "w1", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			start := time.Now()
			w.finish(fctx, w.cfg.Logger, w.newJob(claimed), claimed, tc.res, tc.err, nil)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("finish took %s: it retried a data error as if PostgreSQL were down", d)
			}
			j, err := store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != tc.state || !strings.Contains(j.Error, tc.errHas) {
				t.Errorf("job %s %q, want %s with %q", j.State, j.Error, tc.state, tc.errHas)
			}
			for _, s := range tc.errLacks {
				if strings.Contains(j.Error, s) {
					t.Errorf("error %q holds %q", j.Error, s)
				}
			}
			if !strings.Contains(j.Logs, tc.logHas) {
				t.Errorf("log lacks %q:\n%s", tc.logHas, j.Logs)
			}
			if tc.noDetails && len(j.Details) > 0 {
				t.Errorf("details %s stored", j.Details)
			}
			if j.TransactionID == nil && tc.res.TransactionID != nil {
				t.Error("the transaction id was lost")
			}
			att, err := store.Attempts(ctx, id)
			if err != nil || len(att) != 1 || att[0].Error != j.Error {
				t.Errorf("attempt history %+v (%v), want one attempt with the job's error", att, err)
			}
		})
	}
}
