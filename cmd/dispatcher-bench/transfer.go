package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

// transferFile is the name of the big file, in the upload directory and in the cart.
const transferFile = "big.bin"

// transferStats is what a transfer child reports of its own memory around one transfer.
type transferStats struct {
	Op         string `json:"op"`
	Bytes      int64  `json:"bytes"`
	ElapsedNS  int64  `json:"elapsed_ns"`
	RSSBefore  int64  `json:"rss_before"`  // VmRSS just before the transfer
	PeakAfter  int64  `json:"peak_after"`  // VmHWM just after it
	HeapPeak   int64  `json:"heap_peak"`   // largest Go HeapInuse seen (sampled every 10 ms)
	TotalAlloc int64  `json:"total_alloc"` // Go bytes allocated during the transfer
	TxID       int64  `json:"tx_id,omitempty"`
}

// increase is the peak resident memory the transfer added to the process.
func (s transferStats) increase() int64 { return max(0, s.PeakAfter-s.RSSBefore) }

// transferFigures are the results of the big-file part; skipped says why there are none.
type transferFigures struct {
	size             int64
	upload, download transferStats
	// server is this process's memory (the simulator's cartd and ingest) around both
	// transfers: before is its RSS with the peak reset, after its peak.
	serverBefore, serverPeak int64
	skipped                  string
}

func (f transferFigures) rows(t *table) {
	size := fmtSize(f.size)
	if f.skipped != "" {
		t.add(size+" upload and download", "", "skipped", "", "", "", f.skipped)
		return
	}
	for _, r := range []struct {
		what, cond string
		s          transferStats
	}{
		{size + " upload, IngestClient.Upload", "own process -> sim ingest, sparse file", f.upload},
		{size + " download, CartClient.Download", "own process <- sim cartd, tar, sha1", f.download},
	} {
		d := time.Duration(r.s.ElapsedNS)
		t.add(r.what, r.cond, "+"+fmtMiB(r.s.increase())+" RSS", "", "", "",
			fmt.Sprintf("peak RSS %s from %s; Go heap peak %s, allocated %s; %s, %.0f MiB/s",
				fmtMiB(r.s.PeakAfter), fmtMiB(r.s.RSSBefore), fmtMiB(r.s.HeapPeak), fmtMiB(r.s.TotalAlloc),
				fmtDuration(d), float64(r.s.Bytes)/(1<<20)/d.Seconds()))
	}
	t.add(size+" through pacificasim", "benchmark process: ingest, then cartd", "+"+fmtMiB(max(0, f.serverPeak-f.serverBefore))+" RSS",
		"", "", "", fmt.Sprintf("peak RSS %s from %s; the simulator keeps files on disk (temporary directory)",
			fmtMiB(f.serverPeak), fmtMiB(f.serverBefore)))
}

// measureTransfer moves one file of size through the Pacifica clients, each transfer in a
// child process of its own (this program again, `transfer-child`) so that the memory
// measured is the client's alone: the simulator, which keeps files on disk, runs in this
// process. The source file is sparse; the simulator's archived copy and the downloaded
// copy are real files under the benchmark's temporary directory, removed at the end.
func measureTransfer(ctx context.Context, env *benchEnv, size int64) (transferFigures, error) {
	f := transferFigures{size: size}
	dir, err := os.MkdirTemp(env.tmp, "transfer-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(dir)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return f, fmt.Errorf("free space of %s: %w", dir, err)
	}
	// The archived copy and the downloaded copy, and some room for everything else.
	if need, free := 2*size+256<<20, int64(st.Bavail)*st.Bsize; free < need {
		f.skipped = fmt.Sprintf("%s free in %s, %s needed", fmtMiB(free), env.tmp, fmtMiB(need))
		return f, nil
	}
	up := filepath.Join(dir, "up")
	if err := os.Mkdir(up, 0o755); err != nil {
		return f, err
	}
	src, err := os.Create(filepath.Join(up, transferFile))
	if err != nil {
		return f, err
	}
	err = src.Truncate(size) // sparse: no disk, no memory
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f, err
	}
	sim, stopSim, err := startSim(ctx, filepath.Join(dir, "sim"), -1)
	if err != nil {
		return f, err
	}
	defer stopSim()
	addrs, err := sim.Addrs(ctx)
	if err != nil {
		return f, err
	}
	pcfg := simConfig(addrs)
	runtime.GC()
	before, err := resetPeak()
	if err != nil {
		return f, err
	}
	f.serverBefore = before.RSS
	common := []string{"-upload-url", pcfg.UploadURL, "-status-url", pcfg.UploadStatusURL, "-cartd-url", pcfg.DownloadURL}

	if f.upload, err = transferChild(ctx, append(common, "-op", "upload", "-dir", up)...); err != nil {
		return f, err
	}
	tx, ok := sim.Transaction(f.upload.TxID)
	if !ok || len(tx.Files) != 1 {
		return f, fmt.Errorf("upload: transaction %d is not in the simulator with one file", f.upload.TxID)
	}
	file := tx.Files[0]
	down := filepath.Join(dir, "down")
	if f.download, err = transferChild(ctx, append(common, "-op", "download", "-dir", down,
		"-file-id", fmt.Sprint(file.ID), "-sha1", file.HashSum, "-size", fmt.Sprint(file.Size))...); err != nil {
		return f, err
	}
	after, err := readMemStatus("self")
	if err != nil {
		return f, err
	}
	f.serverPeak = after.Peak
	if fi, err := os.Stat(filepath.Join(down, transferFile)); err != nil || fi.Size() != size {
		return f, fmt.Errorf("download: %s is not the %d bytes uploaded (%v)", transferFile, size, err)
	}
	return f, nil
}

// resetPeak resets this process's VmHWM to its current RSS (writing 5 to clear_refs,
// Linux 4.0+), so that the peak read later is that of what runs in between, and returns
// the memory then.
func resetPeak() (memStatus, error) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return memStatus{}, fmt.Errorf("reset the peak RSS: %w", err)
	}
	return readMemStatus("self")
}

// transferChild runs `transfer-child args` and decodes its report.
func transferChild(ctx context.Context, args ...string) (transferStats, error) {
	self, err := os.Executable()
	if err != nil {
		return transferStats{}, err
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, self, append([]string{"transfer-child"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return transferStats{}, fmt.Errorf("transfer child %v: %w\n%s", args, err, errb.String())
	}
	var s transferStats
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return s, fmt.Errorf("transfer child: its report %q: %w", out.String(), err)
	}
	return s, nil
}

// runTransferChild is `dispatcher-bench transfer-child`: one upload of -dir, or one
// download of -file-id into -dir, with this process's memory measured around it and
// reported as JSON on stdout.
func runTransferChild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("transfer-child", flag.ContinueOnError)
	fs.SetOutput(stderr)
	op := fs.String("op", "", "upload or download")
	dir := fs.String("dir", "", "the directory to upload, or to download into")
	var cfg pacifica.Config
	fs.StringVar(&cfg.UploadURL, "upload-url", "", "ingest upload URL")
	fs.StringVar(&cfg.UploadStatusURL, "status-url", "", "ingest state URL")
	fs.StringVar(&cfg.DownloadURL, "cartd-url", "", "cartd URL")
	id := fs.Int64("file-id", 0, "download: the archive file id")
	sum := fs.String("sha1", "", "download: the file's sha1")
	size := fs.Int64("size", 0, "download: the file's size")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.NotificationsURL, cfg.CABundle = "http://127.0.0.1:8070", "True"
	pc, err := pacifica.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var work func() (int64, error)
	s := transferStats{Op: *op}
	switch *op {
	case "upload":
		work = func() (int64, error) {
			id, err := pc.Ingest.Upload(ctx, *dir, pacifica.UploadMeta{Submitter: json.RawMessage("10"),
				Project: json.RawMessage(`"bench"`), Instrument: json.RawMessage("54")})
			s.TxID = id
			fi, serr := os.Stat(filepath.Join(*dir, transferFile))
			if serr != nil {
				return 0, serr
			}
			return fi.Size(), err
		}
	case "download":
		work = func() (int64, error) {
			return *size, pc.Cart.Download(ctx, []pacifica.CartFile{{ID: *id, Path: transferFile, HashType: "sha1",
				HashSum: *sum, Size: *size}}, *dir)
		}
	default:
		fmt.Fprintln(stderr, "-op: want upload or download")
		return 2
	}
	if err := measureMemory(&s, work); err != nil {
		fmt.Fprintln(stderr, "transfer-child:", err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(s); err != nil {
		return 1
	}
	return 0
}

// measureMemory runs work and records, in s, the process's resident memory before and its
// peak after, the Go heap in use at its largest (sampled every 10 ms) and the bytes the Go
// runtime allocated meanwhile.
func measureMemory(s *transferStats, work func() (int64, error)) error {
	runtime.GC()
	// The peak read after the transfer is then the transfer's, not the start-up's.
	before, err := resetPeak()
	if err != nil {
		return err
	}
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	stop, sampled := make(chan struct{}), make(chan uint64)
	go func() {
		peak := m0.HeapInuse
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-t.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			case <-stop:
				sampled <- peak
				return
			}
		}
	}()
	start := time.Now()
	n, err := work()
	s.ElapsedNS = int64(time.Since(start))
	close(stop)
	heapPeak := <-sampled
	if err != nil {
		return err
	}
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	after, err := readMemStatus("self")
	if err != nil {
		return err
	}
	s.Bytes, s.RSSBefore, s.PeakAfter = n, before.RSS, after.Peak
	s.HeapPeak, s.TotalAlloc = int64(max(heapPeak, m1.HeapInuse)), int64(m1.TotalAlloc-m0.TotalAlloc)
	return nil
}
