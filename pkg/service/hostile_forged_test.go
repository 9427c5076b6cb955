package service

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// setTx sets the value of the event's Transactions.<field> entry.
func setTx(field string, v any) func(m map[string]any) {
	return func(m map[string]any) {
		for _, x := range entries(m, "Transactions."+field) {
			x["value"] = v
			return
		}
		panic("no Transactions." + field)
	}
}

// forged is a forged event, built by build: anyone who can reach the receiver can post
// one. It is answered 202 (notifications must never see an error), and its job fails with
// errHas without downloading (cartd serves no tar meanwhile) or uploading anything (no new
// transaction in Pacifica).
func forged(name string, build func(e *hostileEnv) []byte, errHas ...string) hostileCase {
	var served atomic.Bool
	var txs int
	return hostileCase{name: "forged/" + name,
		setup: func(e *hostileEnv) func() {
			served.Store(false)
			e.s.sim.SetCartOverride(pacificasim.CartOverride{Tar: func(io.Writer, pacificasim.CartContent) error {
				served.Store(true)
				return errors.New("the files of a forged event were asked for")
			}})
			return func() { e.s.sim.SetCartOverride(pacificasim.CartOverride{}) }
		},
		deliver: func(e *hostileEnv) delivery {
			body := build(e)
			txs = len(e.s.sim.Transactions())
			return delivery{contentType: jsonCT, body: body}
		},
		want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: errHas,
			check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
				if served.Load() {
					t.Error("cartd served the files of a forged event")
				}
				if n := len(e.s.sim.Transactions()) - txs; n != 0 {
					t.Errorf("%d transaction(s) uploaded for a forged event", n)
				}
				j := r.jobs[0]
				if j.Attempts != 1 || j.TransactionID != nil || strings.Contains(j.Logs, "download") {
					t.Errorf("job %+v: want one attempt, no transaction, no download", j)
				}
			}},
	}
}

// victimFile uploads a transaction of another project and submitter (the victim) and
// returns its file.
func victimFile(e *hostileEnv) pacificasim.File {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.csv"), []byte("secret,data\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := e.s.client.Ingest.Upload(ctx, dir, pacifica.UploadMeta{Submitter: []byte("20"), Project: []byte(`"victim"`),
		Instrument: []byte("54")})
	if err != nil {
		e.t.Fatal(err)
	}
	tx, _ := e.s.sim.Transaction(id)
	return tx.Files[0]
}

func forgedCases() []hostileCase {
	return []hostileCase{
		forged("unknown transaction", func(e *hostileEnv) []byte { return e.event(setTx("_id", 999999)) },
			"transaction 999999 is unknown to Pacifica metadata"),
		forged("another project", func(e *hostileEnv) []byte { return e.event(setTx("project", "victim")) },
			`event does not match Pacifica metadata: project: event says "victim", metadata says "1234a"`),
		forged("another submitter", func(e *hostileEnv) []byte { return e.event(setTx("submitter", 20)) },
			`event does not match Pacifica metadata: submitter: event says "20", metadata says "10"`),
		forged("another file hash", func(e *hostileEnv) []byte {
			return e.event(func(m map[string]any) { fileEntry(m, "in_file_one.csv")["hashsum"] = strings.Repeat("ab", 20) })
		}, "event does not match Pacifica metadata: file ", ` hashsum: event says "`+strings.Repeat("ab", 20)+`", metadata says "`),
		forged("a victim's file as an input", func(e *hostileEnv) []byte {
			v := victimFile(e)
			return e.event(func(m map[string]any) {
				f := fileEntry(m, "in_file_one.csv")
				f["_id"], f["size"], f["hashsum"] = v.ID, v.Size, v.HashSum
			})
		}, "event does not match Pacifica metadata: file ", `: event says "inputs/in_file_one.csv", metadata has none`),
		forged("another out_dir", func(e *hostileEnv) []byte {
			return e.event(setKV("proxymod.config_1.OUTPUTS.out_dir", "elsewhere/"))
		}, `event does not match Pacifica metadata: key/value proxymod.config_1.OUTPUTS.out_dir: event says "elsewhere/", metadata says "outputs/"`),
		forged("another configs_count", func(e *hostileEnv) []byte {
			return e.event(setKV("proxymod.configs_count", "1"))
		}, `event does not match Pacifica metadata: key/value proxymod.configs_count: event says "1", metadata says "3"`),
		forged("no transaction id", func(e *hostileEnv) []byte {
			return e.event(func(m map[string]any) {
				var kept []any
				for _, d := range m["data"].([]any) {
					if x, ok := d.(map[string]any); !ok || x["destinationTable"] != "Transactions._id" {
						kept = append(kept, d)
					}
				}
				m["data"] = kept
			})
		}, "the event names no transaction (no Transactions._id)"),
		// Metadata unreachable is transient: the job is retried, and runs once it is back.
		{name: "metadata/503 twice, then back", setup: fault(pacificasim.ServiceMetadata, pacificasim.Fault{Status: 503, Count: 2}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "succeeded",
				check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
					attempts(3)(t, e, r)
					j := r.jobs[0]
					if len(j.History) < 2 || !strings.Contains(j.History[0].Error, "metadata: transaction info") ||
						!strings.Contains(j.History[0].Error, "503 Service Unavailable") || j.TransactionID == nil {
						t.Errorf("attempts %+v, transaction %v: want metadata's 503 retried, then a result", j.History, j.TransactionID)
					}
				}}},
		{name: "metadata/503 for ever", setup: fault(pacificasim.ServiceMetadata, pacificasim.Fault{Status: 503}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
				errHas: []string{"metadata: transaction info", "503 Service Unavailable"}, check: attempts(3)}},
		{name: "metadata/hangs", slow: true, setup: fault(pacificasim.ServiceMetadata, pacificasim.Fault{Delay: time.Hour}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
				errHas: []string{"metadata: transaction info"}, check: attempts(3)}},
		{name: "metadata/answers garbage", setup: fault(pacificasim.ServiceMetadata, pacificasim.Fault{Status: 200, Body: "<html>"}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
				errHas: []string{"metadata: transaction info", "unexpected answer"}, check: attempts(1)}},
	}
}
