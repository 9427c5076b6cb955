package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

// scriptsAlone is how many script jobs the "alone" measurement runs one after another.
const scriptsAlone = 20

// scriptsSenders is how many goroutines deliver a burst's events.
const scriptsSenders = 16

// scriptsProfileSeconds is the length of the CPU profiles taken with -profile.
const scriptsProfileSeconds = 5

// scriptName is the benchmark's script, and scriptText what it runs: one small file
// written into its output directory, uploaded by the worker as the job's result.
const (
	scriptName = "bench"
	scriptText = "#!/bin/sh\necho \"$DISPATCHER_EVENT_ID\" > \"$DISPATCHER_OUTPUT_DIR/result.txt\"\n"
)

// scriptFilter routes the sample event's key/values to the script. The sources are
// uploaded without models, so the proxymod route does not take them: one job per event,
// the script's.
const scriptFilter = `$[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue" and @["key"] = "proxymod.task" and @["value"] = "advance" )] )]`

// scriptsFigures are the results of the scripts part.
type scriptsFigures struct {
	alone    []scriptsAloneRun
	bursts   []scriptsBurst
	profiles []scriptsProfile
}

// scriptsAloneRun is the jobs run one at a time with the directories in one place.
type scriptsAloneRun struct {
	where   string
	workers int
	lat     []time.Duration // received -> finished
	stages  jobStages
}

// scriptsBurst is one burst: n events delivered at once to a receiver, run by a worker with
// the given concurrency, and where the CPU went meanwhile.
type scriptsBurst struct {
	workers, n             int
	sandbox                string
	where                  string        // the file system of the job and simulator directories
	span                   time.Duration // first delivery -> last job finished
	lat                    []time.Duration
	receiver, worker       cpuTimes
	sim                    time.Duration
	share                  cpuShare
	statements, roundTrips float64 // both processes'
	receiverMem, workerMem memStatus
	aloneStages            jobStages // of the jobs alone, when there were
}

// jobStages are the medians of a job's stages, from the job store: received -> the attempt
// started (intake, RabbitMQ, the claim), the download (the job's log), the script (its
// duration in the script log), and the rest (verification, preparing the directory, the
// upload, the finish).
type jobStages struct {
	toStart, download, script, rest time.Duration
}

var downloadedIn = regexp.MustCompile(`downloaded \d+ files \(\d+ bytes\) in (\S+)`)

// stagesOf reads the stages of the succeeded jobs and returns their medians.
func stagesOf(ctx context.Context, db *pgx.Conn) (jobStages, error) {
	rows, err := db.Query(ctx, `SELECT received_at, started_at, finished_at, logs, coalesce((details->>'duration_seconds')::float8, 0)
		FROM jobs WHERE state = 'succeeded'`)
	if err != nil {
		return jobStages{}, err
	}
	var toStart, download, script, rest []time.Duration
	for rows.Next() {
		var r, st, f time.Time
		var logs string
		var secs float64
		if err := rows.Scan(&r, &st, &f, &logs, &secs); err != nil {
			return jobStages{}, err
		}
		var dl time.Duration
		if m := downloadedIn.FindStringSubmatch(logs); m != nil {
			dl, _ = time.ParseDuration(m[1])
		}
		sc := time.Duration(secs * float64(time.Second))
		toStart = append(toStart, st.Sub(r))
		download = append(download, dl)
		script = append(script, sc)
		rest = append(rest, f.Sub(st)-dl-sc)
	}
	if err := rows.Err(); err != nil {
		return jobStages{}, err
	}
	return jobStages{toStart: percentile(toStart, .5), download: percentile(download, .5),
		script: percentile(script, .5), rest: percentile(rest, .5)}, nil
}

// scriptsProfile is the top of one process's CPU profile during a burst.
type scriptsProfile struct {
	what     string
	cum, top string // go tool pprof -top output, by cumulative and by flat time
}

// measureScripts runs the scripts part: for each worker concurrency, a fresh simulator
// (child process, no delays), receiver and worker (child processes); the sources uploaded
// first; at the first concurrency scriptsAlone jobs one at a time; then a burst of n jobs.
// With sandboxOff, one more burst at the last concurrency runs with SANDBOX=off. With
// profile, the last sandboxed burst's receiver and worker are profiled (the raw profiles
// kept in profileDir when it is not empty).
func measureScripts(ctx context.Context, env *benchEnv, n int, levels []int, sandboxOff, profile bool, profileDir string,
	progress func(string, ...any)) (scriptsFigures, error) {
	var f scriptsFigures
	simBin, err := goBuild(ctx, "./cmd/pacifica-sim", filepath.Join(env.tmp, "pacifica-sim"))
	if err != nil {
		return f, err
	}
	dir := filepath.Join(env.tmp, "scripts")
	if err := writeScriptConfig(dir); err != nil {
		return f, err
	}
	type run struct {
		workers, alone int
		sandbox        string
		profile        bool
		base, where    string
	}
	// The job directories (and the simulator's) where the benchmark's temporary directory
	// is, and again on a memory file system when that is another: a job makes a few
	// directories and files, and what that costs depends on the disk.
	type place struct{ base, where string }
	places := []place{{env.tmp, fsName(env.tmp)}}
	if fsName(env.tmp) != "tmpfs" && fsName("/dev/shm") == "tmpfs" {
		places = append(places, place{"/dev/shm", "tmpfs"})
	}
	var runs []run
	for pi, pl := range places {
		for i, w := range levels {
			r := run{workers: w, sandbox: "bwrap", base: pl.base, where: pl.where,
				profile: profile && pi == len(places)-1 && i == len(levels)-1}
			if i == 0 {
				r.alone = scriptsAlone
			}
			runs = append(runs, r)
		}
	}
	if last := places[len(places)-1]; sandboxOff {
		runs = append(runs, run{workers: levels[len(levels)-1], sandbox: "off", base: last.base, where: last.where})
	}
	for _, r := range runs {
		progress("script jobs: %d alone, then %d at once, %d workers, SANDBOX=%s, directories on %s", r.alone, n, r.workers, r.sandbox, r.where)
		b, alone, profs, err := scriptsRun(ctx, env, simBin, dir, r.base, n, r.workers, r.alone, r.sandbox, r.profile, profileDir)
		if err != nil {
			return f, err
		}
		b.where = r.where
		f.bursts = append(f.bursts, b)
		if r.alone > 0 {
			f.alone = append(f.alone, scriptsAloneRun{where: r.where, workers: r.workers, lat: alone, stages: b.aloneStages})
		}
		f.profiles = append(f.profiles, profs...)
	}
	return f, nil
}

// fsName names the file system of dir: tmpfs, ext4, xfs, btrfs, overlay, or its magic number.
func fsName(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "?"
	}
	switch st.Type {
	case 0x01021994:
		return "tmpfs"
	case 0xef53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x794c7630:
		return "overlay"
	}
	return fmt.Sprintf("fs %#x", st.Type)
}

// writeScriptConfig writes the script directory (dir/scripts.d/bench) and its INI file
// (dir/config.ini).
func writeScriptConfig(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "scripts.d"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts.d", scriptName), []byte(scriptText), 0o755); err != nil { //nolint:gosec // a script must be executable
		return err
	}
	ini := "[" + scriptName + "]\nrouter_jsonpath = " + scriptFilter + "\n"
	return os.WriteFile(filepath.Join(dir, "config.ini"), []byte(ini), 0o644) //nolint:gosec // not a secret
}

// scriptsRun is one run of the scripts part on a fresh simulator, schema, receiver and
// worker.
func scriptsRun(ctx context.Context, env *benchEnv, simBin, scriptDir, base string, n, workers, alone int, sandboxMode string,
	profile bool, profileDir string) (b scriptsBurst, aloneLat []time.Duration, profs []scriptsProfile, err error) {
	b = scriptsBurst{workers: workers, n: n, sandbox: sandboxMode}
	schema, drop, err := privateSchema(ctx, env.dbURL)
	if err != nil {
		return b, nil, nil, err
	}
	defer drop()
	tmp, err := os.MkdirTemp(base, "dispatcher-bench-scripts-")
	if err != nil {
		return b, nil, nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // the sandbox users reach the job directories
		return b, nil, nil, err
	}

	sim, err := startSimChild(ctx, simBin, filepath.Join(tmp, "sim"))
	if err != nil {
		return b, nil, nil, err
	}
	defer sim.stop()
	pcfg := sim.config()
	events, err := uploadSources(ctx, env, pcfg, filepath.Join(tmp, "source"), alone+n)
	if err != nil {
		return b, nil, nil, fmt.Errorf("%w\nsimulator's log:\n%s", err, sim.log.String())
	}

	prefix := "bench." + dsn.Token()
	defer devenv.DeleteQueues(env.mqURL, prefix)
	common := []string{"SCRIPT_DIR=" + filepath.Join(scriptDir, "scripts.d"), "DISPATCHER_K8S_CONFIG=" + filepath.Join(scriptDir, "config.ini"),
		"UPLOAD_URL=" + pcfg.UploadURL, "UPLOAD_STATUS_URL=" + pcfg.UploadStatusURL, "DOWNLOAD_URL=" + pcfg.DownloadURL,
		"METADATA_URL=" + pcfg.MetadataURL, "NOTIFICATIONS_URL=" + pcfg.NotificationsURL}
	var debugRecv, debugWork string
	recvEnv := append([]string{"ROLE=receiver", "CATCHUP_INTERVAL=0", "SUBSCRIPTION_CHECK_INTERVAL=0"}, common...)
	workEnv := append([]string{"ROLE=worker", "WORKER_CONCURRENCY=" + strconv.Itoa(workers), "SANDBOX=" + sandboxMode}, common...)
	if profile {
		debugRecv, debugWork, err = twoFreeAddrs()
		if err != nil {
			return b, nil, nil, err
		}
		recvEnv = append(recvEnv, "DEBUG_LISTEN_ADDR="+debugRecv)
		workEnv = append(workEnv, "DEBUG_LISTEN_ADDR="+debugWork)
	}
	recv, err := startDispatcher(ctx, env.dispatcher, dispatcherEnv(env.dbURL, env.mqURL, schema, prefix, env.queueType,
		filepath.Join(tmp, "receiver"), recvEnv...))
	if err != nil {
		return b, nil, nil, err
	}
	defer recv.Stop()
	work, err := startDispatcher(ctx, env.dispatcher, dispatcherEnv(env.dbURL, env.mqURL, schema, prefix, env.queueType,
		filepath.Join(tmp, "jobs"), workEnv...))
	if err != nil {
		return b, nil, nil, err
	}
	defer work.Stop()

	db, err := pgx.Connect(ctx, dsn.WithSearchPath(env.dbURL, schema))
	if err != nil {
		return b, nil, nil, err
	}
	defer db.Close(context.WithoutCancel(ctx))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: scriptsSenders}}
	defer client.CloseIdleConnections()
	deliver := func(ev []byte) error {
		resp, err := recv.post(ctx, client, ev)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST /receive: %d", resp.StatusCode)
		}
		return nil
	}

	// Alone: each job delivered after the previous one finished.
	for i := range alone {
		if err := deliver(events[i]); err != nil {
			return b, nil, nil, err
		}
		if err := waitFinished(ctx, db, i+1, 2*time.Millisecond, time.Minute); err != nil {
			return b, nil, nil, fmt.Errorf("%w\nworker's log:\n%s", err, work.log.String())
		}
	}
	if alone > 0 {
		lat, _, err := finishedLatencies(ctx, db, time.Time{})
		if err != nil {
			return b, nil, nil, err
		}
		aloneLat = lat
		if b.aloneStages, err = stagesOf(ctx, db); err != nil {
			return b, nil, nil, err
		}
	}

	// The burst.
	procs := []*dispatcherProc{recv, work}
	var cpu0 [2]cpuTimes
	for i, p := range procs {
		if cpu0[i], err = p.CPU(); err != nil {
			return b, nil, nil, err
		}
	}
	sim0, err := readCPUTimes(strconv.Itoa(sim.cmd.Process.Pid))
	if err != nil {
		return b, nil, nil, err
	}
	share0, err := readCPUShare()
	if err != nil {
		return b, nil, nil, err
	}
	var st0, rt0 float64
	for _, p := range procs {
		st, rt, err := traffic(client, p.base)
		if err != nil {
			return b, nil, nil, err
		}
		st0, rt0 = st0+st, rt0+rt
	}
	var profWG sync.WaitGroup
	profErrs := make([]error, 2)
	if profileDir == "" {
		profileDir = tmp
	} else if err := os.MkdirAll(profileDir, 0o755); err != nil {
		return b, nil, nil, err
	}
	profFiles := []string{filepath.Join(profileDir, "receiver.pprof"), filepath.Join(profileDir, "worker.pprof")}
	if profile {
		for i, addr := range []string{debugRecv, debugWork} {
			profWG.Add(1)
			go func() {
				defer profWG.Done()
				profErrs[i] = fetchProfile(ctx, "http://"+addr, profFiles[i])
			}()
		}
	}
	start := time.Now()
	burst := events[alone:]
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		sendErr error
		next    = make(chan []byte, len(burst))
	)
	for _, ev := range burst {
		next <- ev
	}
	close(next)
	for range scriptsSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range next {
				if err := deliver(ev); err != nil {
					errOnce.Do(func() { sendErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if sendErr != nil {
		return b, nil, nil, sendErr
	}
	if err := waitFinished(ctx, db, alone+n, 20*time.Millisecond, 5*time.Minute); err != nil {
		return b, nil, nil, fmt.Errorf("%w\nworker's log:\n%s", err, work.log.String())
	}
	var cpu1 [2]cpuTimes
	for i, p := range procs {
		if cpu1[i], err = p.CPU(); err != nil {
			return b, nil, nil, err
		}
	}
	sim1, err := readCPUTimes(strconv.Itoa(sim.cmd.Process.Pid))
	if err != nil {
		return b, nil, nil, err
	}
	share1, err := readCPUShare()
	if err != nil {
		return b, nil, nil, err
	}
	var st1, rt1 float64
	for _, p := range procs {
		st, rt, err := traffic(client, p.base)
		if err != nil {
			return b, nil, nil, err
		}
		st1, rt1 = st1+st, rt1+rt
	}
	b.receiver, b.worker = cpu1[0].sub(cpu0[0]), cpu1[1].sub(cpu0[1])
	b.sim = sim1.sub(sim0).Self
	b.share = share1.sub(share0)
	b.statements, b.roundTrips = st1-st0, rt1-rt0
	var last time.Time
	if b.lat, last, err = finishedLatencies(ctx, db, start); err != nil {
		return b, nil, nil, err
	}
	b.span = last.Sub(start)
	if b.receiverMem, err = recv.Memory(); err != nil {
		return b, nil, nil, err
	}
	if b.workerMem, err = work.Memory(); err != nil {
		return b, nil, nil, err
	}
	profWG.Wait()
	if profile {
		for i, what := range []string{"receiver", "worker"} {
			if profErrs[i] != nil {
				return b, nil, nil, fmt.Errorf("the %s's CPU profile: %w", what, profErrs[i])
			}
			p, err := topOfProfile(ctx, env.dispatcher, profFiles[i])
			if err != nil {
				return b, nil, nil, err
			}
			p.what = fmt.Sprintf("%s (ROLE=%s), burst of %d at %d workers, %d s from the first delivery", what, what, n, workers, scriptsProfileSeconds)
			profs = append(profs, p)
		}
	}
	if err := work.Stop(); err != nil {
		return b, nil, nil, err
	}
	return b, aloneLat, profs, recv.Stop()
}

// waitFinished polls the job store until want jobs ended (any failed or cancelled one is an
// error with its message).
func waitFinished(ctx context.Context, db *pgx.Conn, want int, every, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var done, bad int
		var firstErr string
		err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'succeeded'),
			count(*) FILTER (WHERE state IN ('failed', 'cancelled', 'unrouted')),
			coalesce(min(state || ': ' || error) FILTER (WHERE state IN ('failed', 'cancelled', 'unrouted')), '')
			FROM jobs`).Scan(&done, &bad, &firstErr)
		if err != nil {
			return err
		}
		if bad > 0 {
			return fmt.Errorf("%d jobs did not succeed, e.g. %s", bad, firstErr)
		}
		if done >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d jobs finished within %s", done, want, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// finishedLatencies returns the received -> finished times of the succeeded jobs received
// since since, and the last finish.
func finishedLatencies(ctx context.Context, db *pgx.Conn, since time.Time) ([]time.Duration, time.Time, error) {
	rows, err := db.Query(ctx, `SELECT received_at, finished_at FROM jobs WHERE state = 'succeeded' AND received_at >= $1`, since)
	if err != nil {
		return nil, time.Time{}, err
	}
	var out []time.Duration
	var last time.Time
	for rows.Next() {
		var r, f time.Time
		if err := rows.Scan(&r, &f); err != nil {
			return nil, time.Time{}, err
		}
		out = append(out, f.Sub(r))
		if f.After(last) {
			last = f
		}
	}
	return out, last, rows.Err()
}

// simChild is `pacifica-sim serve` as a child process, so that its CPU is its own.
type simChild struct {
	cmd                                *exec.Cmd
	cartd, ingest, notifications, meta string // host:port
	log                                *tailBuffer
	done                               chan struct{}
}

// startSimChild runs the simulator with no staging and no ingest delays (a zero delay is
// "none" on its command line) on free loopback ports, and waits until each port answers.
func startSimChild(ctx context.Context, bin, dataDir string) (*simChild, error) {
	s := &simChild{log: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	for _, a := range []*string{&s.cartd, &s.ingest, &s.notifications, &s.meta} {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		*a = "127.0.0.1:" + strconv.Itoa(p)
	}
	s.cmd = exec.Command(bin, "serve", "--cartd", s.cartd, "--ingest", s.ingest, "--notifications", s.notifications,
		"--metadata", s.meta, "--data", dataDir, "--staging-delay", "0", "--ingest-step-delay", "0")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pacifica-sim: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range []string{s.cartd, s.ingest, s.notifications, s.meta} {
		for {
			c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", a)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.done:
				return nil, fmt.Errorf("pacifica-sim ended at start:\n%s", s.log.String())
			case <-ctx.Done():
				s.stop()
				return nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				s.stop()
				return nil, fmt.Errorf("pacifica-sim does not listen on %s:\n%s", a, s.log.String())
			}
		}
	}
	return s, nil
}

// config is the Pacifica configuration of the simulator's addresses.
func (s *simChild) config() pacifica.Config {
	return pacifica.Config{UploadURL: "http://" + s.ingest + "/upload", UploadStatusURL: "http://" + s.ingest + "/get_state",
		DownloadURL: "http://" + s.cartd, NotificationsURL: "http://" + s.notifications, MetadataURL: "http://" + s.meta,
		CABundle: "True"}
}

// stop ends the simulator (SIGTERM, SIGKILL after 10 s).
func (s *simChild) stop() { terminate(s.cmd, s.done, 10*time.Second) }

// uploadSources uploads n sources (the sample's inputs and key/values, no models) and
// returns their events as notifications delivers them: to a subscription of the
// benchmark's own, removed once every event arrived.
func uploadSources(ctx context.Context, env *benchEnv, pcfg pacifica.Config, src string, n int) ([][]byte, error) {
	var (
		mu     sync.Mutex
		events [][]byte
		got    = make(chan struct{}, n)
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, body)
		mu.Unlock()
		select {
		case got <- struct{}{}:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	pc, err := pacifica.New(pcfg)
	if err != nil {
		return nil, err
	}
	const user = "dispatcher-bench"
	sub, err := pc.Notifications.Create(ctx, user, pacifica.Subscription{Name: "dispatcher-bench", JSONPath: scriptFilter,
		TargetURL: "http://" + ln.Addr().String() + "/receive"})
	if err != nil {
		return nil, err
	}
	if err := devenv.WriteSource(src); err != nil {
		return nil, err
	}
	meta, err := devenv.SampleMeta(env.sample)
	if err != nil {
		return nil, err
	}
	for range n {
		if _, err := pc.Ingest.Upload(ctx, src, meta); err != nil {
			return nil, err
		}
	}
	timeout := time.After(time.Minute)
	for range n {
		select {
		case <-got:
		case <-timeout:
			return nil, fmt.Errorf("notifications delivered %d of %d events within a minute", len(events), n)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := pc.Notifications.Delete(ctx, user, sub.UUID); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return events, nil
}

// twoFreeAddrs returns two free loopback addresses.
func twoFreeAddrs() (string, string, error) {
	a, err := freePort()
	if err != nil {
		return "", "", err
	}
	b, err := freePort()
	if err != nil {
		return "", "", err
	}
	return "127.0.0.1:" + strconv.Itoa(a), "127.0.0.1:" + strconv.Itoa(b), nil
}

// fetchProfile saves a CPU profile of scriptsProfileSeconds from a dispatcher's
// DEBUG_LISTEN_ADDR into file.
func fetchProfile(ctx context.Context, base, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds="+strconv.Itoa(scriptsProfileSeconds), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	f, err := os.Create(file) //nolint:gosec // the benchmark's own temporary file
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scriptsTopNodes is how many functions the profiles' tops show.
const scriptsTopNodes = 12

// topOfProfile runs go tool pprof -top on a saved profile, by cumulative and by flat time.
func topOfProfile(ctx context.Context, bin, file string) (scriptsProfile, error) {
	var p scriptsProfile
	for _, cum := range []bool{true, false} {
		args := []string{"tool", "pprof", "-top", "-nodecount=" + strconv.Itoa(scriptsTopNodes)}
		if cum {
			args = append(args, "-cum")
		}
		out, err := exec.CommandContext(ctx, devenv.EnvOr("GO", "go"), append(args, bin, file)...).CombinedOutput()
		if err != nil {
			return p, fmt.Errorf("go tool pprof: %w\n%s", err, out)
		}
		if cum {
			p.cum = string(out)
		} else {
			p.top = string(out)
		}
	}
	return p, nil
}

// rows adds the scripts part's rows to t.
func (f scriptsFigures) rows(t *table) {
	for _, a := range f.alone {
		t.add("script jobs alone", fmt.Sprintf("%d jobs one at a time, %s, sandboxed, 1 file out, directories on %s", len(a.lat), plural(a.workers, "worker"), a.where),
			"", fmtLatency(a.lat, .50), fmtLatency(a.lat, .95), fmtLatency(a.lat, .99),
			fmt.Sprintf("received -> result ingested; goal: p50 under 50 ms; medians: received -> attempt started %s, download %s, script %s, the rest (verify, directory, upload, finish) %s",
				fmtDuration(a.stages.toStart), fmtDuration(a.stages.download), fmtDuration(a.stages.script), fmtDuration(a.stages.rest)))
	}
	for _, b := range f.bursts {
		n := time.Duration(b.n)
		sb := "sandboxed"
		if b.sandbox == "off" {
			sb = "SANDBOX=off (comparison only)"
		}
		rate := float64(b.n) / b.span.Seconds()
		disp := b.receiver.Self + b.worker.Self
		t.add("script jobs burst", fmt.Sprintf("%s, %d events at once, %s, directories on %s", plural(b.workers, "worker"), b.n, sb, b.where),
			fmtRate(rate, "jobs"), fmtLatency(b.lat, .50), fmtLatency(b.lat, .95), fmtLatency(b.lat, .99),
			fmt.Sprintf("first delivery -> last finished %s; CPU/job: dispatcher %s (receiver %s, worker %s), simulator %s; goals: 200 jobs/s, dispatcher 5 ms/job",
				fmtDuration(b.span), fmtDuration(disp/n), fmtDuration(b.receiver.Self/n), fmtDuration(b.worker.Self/n), fmtDuration(b.sim/n)))
		t.add("  where a script job's time goes", fmt.Sprintf("%s, per job", plural(b.workers, "worker")),
			fmt.Sprintf("%.1f stmts", b.statements/float64(b.n)), "", "", "",
			fmt.Sprintf("%.1f round trips to PostgreSQL; CPU: scripts (bwrap, sh) %s, PostgreSQL %s, RabbitMQ %s, benchmark %s, kernel threads %s, interrupts %s; the whole machine %s per job (at most %.0f jobs/s on %d CPUs), busy %.0f%%",
				b.roundTrips/float64(b.n), fmtDuration(b.worker.Children/n), fmtDuration(b.share.postgres/n),
				fmtDuration(b.share.rabbitmq/n), fmtDuration(b.share.bench/n), fmtDuration(b.share.kernel/n),
				fmtDuration(b.share.interrupts/n), fmtDuration(b.share.busy/n), float64(runtime.NumCPU())/(b.share.busy/n).Seconds(), runtime.NumCPU(),
				100*b.share.busy.Seconds()/(b.span.Seconds()*float64(runtime.NumCPU()))))
		if b.sandbox != "off" {
			t.add("worker peak RSS, script jobs", fmt.Sprintf("serve ROLE=worker (child), %s, that run", plural(b.workers, "worker")),
				fmtMiB(b.workerMem.Peak), "", "", "",
				fmt.Sprintf("VmHWM, goal under 32 MiB; RSS at the end %s; receiver (ROLE=receiver) peak %s", fmtMiB(b.workerMem.RSS), fmtMiB(b.receiverMem.Peak)))
		}
	}
}

// writeProfiles prints the tops of the profiles taken, if any.
func (f scriptsFigures) writeProfiles(w io.Writer) {
	for _, p := range f.profiles {
		fmt.Fprintf(w, "\nCPU profile of the %s: top %d by cumulative time\n%s", p.what, scriptsTopNodes, indent(p.cum))
		fmt.Fprintf(w, "\nthe same, top %d by flat time\n%s", scriptsTopNodes, indent(p.top))
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
