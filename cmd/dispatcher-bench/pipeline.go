package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// benchPipeline measures small proxymod jobs end to end: for each worker concurrency, a
// fresh dispatcher (receiver and workers in one process) and simulated Pacifica; n source
// uploads are made first, then their n events are delivered at once, and the run ends
// when every job has finished. Latency is the job's received_at to finished_at (the result
// is uploaded and ingested before the job finishes).
func benchPipeline(ctx context.Context, out io.Writer, dbURL, mqURL string, n int, levels []int) error {
	python, err := exec.LookPath(devenv.EnvOr("PROXYMOD_PYTHON", "python3"))
	if err != nil {
		return fmt.Errorf("the models need python3: %w", err)
	}
	standIn, err := filepath.Abs(filepath.Join("testdata", "proxymod", "python"))
	if err != nil {
		return err
	}
	sample, err := devenv.ReadSample()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "small proxymod jobs: 1 model (loose coupling, 3 configurations, sleeps 0), 2 input CSVs; %d jobs delivered at once per run\n", n)
	fmt.Fprintf(out, "%-8s %10s %10s %10s %10s %12s\n", "workers", "jobs", "jobs/s", "p50", "p99", "peak RSS")
	for _, c := range levels {
		r, err := pipelineRun(ctx, dbURL, mqURL, python, standIn, sample, n, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-8d %10d %10.1f %10s %10s %9.1f MiB\n", c, r.n, r.rate, r.p50.Round(time.Millisecond),
			r.p99.Round(time.Millisecond), float64(r.peakRSS)/(1<<20))
	}
	fmt.Fprintln(out, "peak RSS is this whole process's (dispatcher, simulator and benchmark; Python children not included), read from VmHWM")
	return nil
}

type pipelineResult struct {
	n        int
	rate     float64
	p50, p99 time.Duration
	peakRSS  int64
}

func pipelineRun(ctx context.Context, dbURL, mqURL, python, standIn string, sample []byte, n, workers int) (pipelineResult, error) {
	var res pipelineResult
	schema := "bench_" + devenv.Token()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return res, fmt.Errorf("PostgreSQL at %s: %w", devenv.Redact(dbURL), err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return res, err
	}
	defer func() { _, _ = admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") }()

	tmp, err := os.MkdirTemp("", "dispatcher-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	sim, err := pacificasim.New(pacificasim.Config{DataDir: filepath.Join(tmp, "sim"), StagingDelay: 20 * time.Millisecond,
		IngestStepDelay: time.Millisecond})
	if err != nil {
		return res, err
	}
	sctx, stopSim := context.WithCancel(ctx)
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		_ = sim.Serve(sctx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0"})
	}()
	defer func() { stopSim(); <-simDone; _ = sim.Close() }()
	addrs, err := sim.Addrs(ctx)
	if err != nil {
		return res, err
	}
	u := addrs.URLs()

	prefix := "bench." + devenv.Token()
	cfg, err := service.Load()
	if err != nil {
		return res, err
	}
	cfg.DatabaseURL, cfg.BrokerURL, cfg.ListenAddr, cfg.Role = devenv.WithSearchPath(dbURL, schema), mqURL, "127.0.0.1:0", service.RoleAll
	cfg.BrokerQueuePrefix, cfg.BrokerExchange = prefix, prefix
	cfg.DataDir, cfg.WorkerConcurrency, cfg.ProxymodPython = filepath.Join(tmp, "jobs"), workers, python
	cfg.ProxymodEnv = []string{"PYTHONPATH=" + standIn, "PROXYMOD_SLEEP_SCALE=0"}
	cfg.UploadURL, cfg.UploadStatusURL, cfg.DownloadURL = u.Ingest+"/upload", u.Ingest+"/get_state", u.Cartd
	vctx, stopSvc := context.WithCancel(ctx)
	svc, err := service.New(vctx, cfg, service.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		stopSvc()
		return res, err
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(vctx) }()
	defer func() { stopSvc(); <-done; devenv.DeleteQueues(mqURL, prefix) }()
	addr, err := svc.Addr(ctx)
	if err != nil {
		return res, err
	}
	base := "http://" + addr.String()
	if err := devenv.WaitReady(ctx, base); err != nil {
		return res, err
	}

	// The sources, uploaded before the clock starts.
	pc, err := pacifica.New(cfg.PacificaConfig)
	if err != nil {
		return res, err
	}
	src := filepath.Join(tmp, "source")
	if err := devenv.WriteSource(src, "loose_coupling"); err != nil {
		return res, err
	}
	meta, err := devenv.SampleMeta(sample)
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

	start := time.Now()
	for _, ev := range events {
		resp, err := http.Post(base+"/receive", "application/json", bytes.NewReader(ev))
		if err != nil {
			return res, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return res, fmt.Errorf("POST /receive: %d", resp.StatusCode)
		}
	}
	var lat []time.Duration
	var last time.Time
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var page struct {
			Jobs []struct {
				State      string     `json:"state"`
				Error      string     `json:"error"`
				ReceivedAt time.Time  `json:"received_at"`
				FinishedAt *time.Time `json:"finished_at"`
			} `json:"jobs"`
		}
		if err := devenv.GetJSON(base+"/jobs?limit=1000", &page); err != nil {
			return res, err
		}
		lat, last = lat[:0], time.Time{}
		finished := 0
		for _, j := range page.Jobs {
			switch j.State {
			case "succeeded":
				finished++
				lat = append(lat, j.FinishedAt.Sub(j.ReceivedAt))
				if j.FinishedAt.After(last) {
					last = *j.FinishedAt
				}
			case "failed", "cancelled":
				return res, fmt.Errorf("a job ended %s: %s", j.State, j.Error)
			}
		}
		if finished == n {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d jobs finished within 10 minutes", finished, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.n = n
	res.rate = float64(n) / last.Sub(start).Seconds()
	res.p50 = lat[len(lat)*50/100]
	res.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	res.peakRSS = peakRSS()
	return res, nil
}

// peakRSS is the process's peak resident set size (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
