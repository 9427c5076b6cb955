package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// pipelineResult is one end-to-end run: n jobs, the time from the first delivery to the
// last job finished, each job's received-to-finished latency, and the dispatcher's memory
// at the end.
type pipelineResult struct {
	workers, n int
	span       time.Duration
	lat        []time.Duration
	mem        memStatus
	cpu        cpuTimes // the dispatcher's and its Python children's, from the first delivery to the end
}

func (r pipelineResult) rate() float64 { return float64(r.n) / r.span.Seconds() }

// rows adds the run's rows (throughput and latency, then memory) to t.
func (r pipelineResult) rows(t *table) {
	per := func(d time.Duration) string { return fmtDuration(d / time.Duration(r.n)) }
	t.add("end-to-end small proxymod jobs", fmt.Sprintf("%s, %d jobs at once, 1 model each, sandboxed", plural(r.workers, "worker"), r.n),
		fmtRate(r.rate(), "jobs"), fmtLatency(r.lat, .50), fmtLatency(r.lat, .95), fmtLatency(r.lat, .99),
		fmt.Sprintf("received -> result ingested; all in %s; CPU/job: dispatcher %s, Python %s",
			fmtDuration(r.span), per(r.cpu.Self), per(r.cpu.Children)))
	t.add("dispatcher peak RSS, "+plural(r.workers, "worker"), "serve ROLE=all (child), that run",
		fmtMiB(r.mem.Peak), "", "", "", "VmHWM, Python children not included; RSS at the end "+fmtMiB(r.mem.RSS))
}

// measurePipeline runs pipelineRun for each worker concurrency.
func measurePipeline(ctx context.Context, env *benchEnv, n int, levels []int) ([]pipelineResult, error) {
	python, err := exec.LookPath(devenv.EnvOr("PROXYMOD_PYTHON", "python3"))
	if err != nil {
		return nil, fmt.Errorf("the models need python3: %w", err)
	}
	standIn, err := filepath.Abs(filepath.Join("testdata", "proxymod", "python"))
	if err != nil {
		return nil, err
	}
	var out []pipelineResult
	for _, c := range levels {
		r, err := pipelineRun(ctx, env, python, standIn, n, c)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// pipelineRun measures small proxymod jobs end to end with a fresh dispatcher (`serve`,
// receiver and workers, as a child process) and simulated Pacifica (in this process): n
// source uploads are made first, then their n events are delivered at once, and the run
// ends when every job has finished. Latency is the job's received_at to finished_at (the
// result is uploaded and ingested before the job finishes).
func pipelineRun(ctx context.Context, env *benchEnv, python, standIn string, n, workers int) (pipelineResult, error) {
	res := pipelineResult{workers: workers, n: n}
	schema, drop, err := privateSchema(ctx, env.dbURL)
	if err != nil {
		return res, err
	}
	defer drop()

	tmp, err := os.MkdirTemp(env.tmp, "pipeline-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	sim, stopSim, err := startSim(ctx, filepath.Join(tmp, "sim"), 20*time.Millisecond)
	if err != nil {
		return res, err
	}
	defer stopSim()
	addrs, err := sim.Addrs(ctx)
	if err != nil {
		return res, err
	}
	pcfg := simConfig(addrs)

	prefix := "bench." + dsn.Token()
	defer devenv.DeleteQueues(env.mqURL, prefix)
	proc, err := startDispatcher(ctx, env.dispatcher, dispatcherEnv(env.dbURL, env.mqURL, schema, prefix, env.queueType,
		filepath.Join(tmp, "jobs"), "ROLE=all", "WORKER_CONCURRENCY="+strconv.Itoa(workers),
		"PROXYMOD_PYTHON="+python, "PROXYMOD_ENV=PYTHONPATH="+standIn+",PROXYMOD_SLEEP_SCALE=0", "SANDBOX=bwrap",
		"UPLOAD_URL="+pcfg.UploadURL, "UPLOAD_STATUS_URL="+pcfg.UploadStatusURL, "DOWNLOAD_URL="+pcfg.DownloadURL, "METADATA_URL="+pcfg.MetadataURL))
	if err != nil {
		return res, err
	}
	defer proc.Stop()

	// The sources, uploaded before the clock starts.
	pc, err := pacifica.New(pcfg)
	if err != nil {
		return res, err
	}
	src := filepath.Join(tmp, "source")
	if err := devenv.WriteSource(src, "loose_coupling"); err != nil {
		return res, err
	}
	meta, err := devenv.SampleMeta(env.sample)
	if err != nil {
		return res, err
	}
	events := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		id, err := pc.Ingest.Upload(ctx, src, meta)
		if err != nil {
			return res, err
		}
		tx, _ := sim.Transaction(id)
		events = append(events, tx.Event)
	}

	cpu0, err := proc.CPU()
	if err != nil {
		return res, err
	}
	start := time.Now()
	for _, ev := range events {
		resp, err := proc.post(ctx, http.DefaultClient, ev)
		if err != nil {
			return res, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return res, fmt.Errorf("POST /receive: %d", resp.StatusCode)
		}
	}
	var last time.Time
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var page struct {
			Jobs []struct {
				State      string     `json:"state"`
				Error      string     `json:"error"`
				ReceivedAt time.Time  `json:"received_at"`
				FinishedAt *time.Time `json:"finished_at"`
			} `json:"jobs"`
		}
		if err := devenv.GetJSON(proc.base+"/jobs?limit=1000", &page); err != nil {
			return res, err
		}
		res.lat, last = res.lat[:0], time.Time{}
		for _, j := range page.Jobs {
			switch j.State {
			case "succeeded":
				res.lat = append(res.lat, j.FinishedAt.Sub(j.ReceivedAt))
				if j.FinishedAt.After(last) {
					last = *j.FinishedAt
				}
			case "failed", "cancelled":
				return res, fmt.Errorf("a job ended %s: %s", j.State, j.Error)
			}
		}
		if len(res.lat) == n {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d jobs finished within 5 minutes", len(res.lat), n)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.span = last.Sub(start)
	if res.mem, err = proc.Memory(); err != nil {
		return res, err
	}
	cpu1, err := proc.CPU()
	if err != nil {
		return res, err
	}
	res.cpu = cpu1.sub(cpu0)
	return res, proc.Stop()
}

// startSim serves a simulated Pacifica (cartd and ingest on free loopback ports) from dir,
// with the given cart staging delay and 1 ms between ingest tasks. stop ends it.
func startSim(ctx context.Context, dir string, staging time.Duration) (*pacificasim.Sim, func(), error) {
	sim, err := pacificasim.New(pacificasim.Config{DataDir: dir, StagingDelay: staging, IngestStepDelay: time.Millisecond})
	if err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sim.Serve(sctx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Metadata: "127.0.0.1:0"})
	}()
	return sim, func() { cancel(); <-done; _ = sim.Close() }, nil
}

// simConfig is the Pacifica configuration of the simulator's addresses.
func simConfig(a pacificasim.Addrs) pacifica.Config {
	u := a.URLs()
	return pacifica.Config{UploadURL: u.Ingest + "/upload", UploadStatusURL: u.Ingest + "/get_state",
		DownloadURL: u.Cartd, NotificationsURL: "http://127.0.0.1:8070", MetadataURL: u.Metadata, CABundle: "True"}
}
