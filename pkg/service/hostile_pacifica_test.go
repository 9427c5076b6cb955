package service

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// fault sets a simulator fault for the case.
func fault(service string, f pacificasim.Fault) func(e *hostileEnv) func() {
	return func(e *hostileEnv) func() {
		e.s.sim.SetFault(service, f)
		return func() { e.s.sim.ClearFault(service) }
	}
}

func attempts(n int) func(t *testing.T, e *hostileEnv, r *hostileResult) {
	return func(t *testing.T, e *hostileEnv, r *hostileResult) {
		if r.jobs[0].Attempts != n {
			t.Errorf("%d attempts, want %d (JOB_MAX_ATTEMPTS: a transient failure is retried)", r.jobs[0].Attempts, n)
		}
	}
}

func pacificaCases() []hostileCase {
	return []hostileCase{
		{name: "pacifica/cart never ready", slow: true, setup: func(e *hostileEnv) func() {
			e.s.sim.SetCartOverride(pacificasim.CartOverride{Stuck: true})
			return func() { e.s.sim.SetCartOverride(pacificasim.CartOverride{}) }
		}, deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
			errHas: []string{"cartd: wait for cart", "not ready after 2s"}, check: attempts(3)}},
		{name: "pacifica/cartd 500 for ever", setup: fault(pacificasim.ServiceCartd, pacificasim.Fault{Status: 500}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
				errHas: []string{"cartd: create cart", "500 Internal Server Error"}, check: attempts(3)}},
		{name: "pacifica/cartd hangs", slow: true, setup: fault(pacificasim.ServiceCartd, pacificasim.Fault{Delay: time.Hour}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
				errHas: []string{"cartd: create cart"}, check: attempts(3)}},
		{name: "pacifica/cartd status garbage", setup: fault(pacificasim.ServiceCartd, pacificasim.Fault{Status: 200, Body: "<html>ok</html>"}),
			deliver: edited(), want: failedWith("cartd: create cart", "200 OK", "<html>ok</html>")},
		{name: "pacifica/ingest upload answers non-JSON 200",
			setup:   fault(pacificasim.ServiceIngest, pacificasim.Fault{Status: 200, Body: "<html>Welcome</html>", Path: "/upload"}),
			deliver: edited(), want: failedWith("ingest: upload", "the answer has no job_id: <html>Welcome</html>")},
		{name: "pacifica/ingest upload answers wrong types",
			setup:   fault(pacificasim.ServiceIngest, pacificasim.Fault{Status: 200, Body: `{"job_id": "12", "state": ["OK"]}`, Path: "/upload"}),
			deliver: edited(), want: failedWith("ingest: upload", "the answer has no job_id")},
		{name: "pacifica/ingest state answers wrong types",
			setup:   fault(pacificasim.ServiceIngest, pacificasim.Fault{Status: 200, Body: `{"job_id": 1, "state": 5, "task_percent": {}}`, Path: "/get_state"}),
			deliver: edited(), want: failedWith("ingest: state of upload job", "not a job state")},
		{name: "pacifica/ingest state answers non-JSON",
			setup:   fault(pacificasim.ServiceIngest, pacificasim.Fault{Status: 200, Body: "OK", Path: "/get_state"}),
			deliver: edited(), want: failedWith("ingest: state of upload job", "not a job state: OK")},
		{name: "pacifica/ingest state never done", slow: true,
			setup:   fault(pacificasim.ServiceIngest, pacificasim.Fault{Status: 200, Body: `{"job_id": 1, "state": "OK", "task": "open tar", "task_percent": "0.0"}`, Path: "/get_state"}),
			deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed",
				errHas: []string{"not ingested after 3s"}, check: attempts(3)}},
	}
}

// pyModel delivers a new source whose model is src.
func pyModel(src string) func(e *hostileEnv) delivery {
	return func(e *hostileEnv) delivery {
		_, ev := e.source(map[string]string{"loose_coupling": src}, nil)
		return delivery{contentType: jsonCT, body: ev}
	}
}

func noProcessesLeft(t *testing.T, e *hostileEnv, r *hostileResult) {
	t.Helper()
	if p := processesUnder(e.h.cfg.DataDir); len(p) > 0 {
		t.Errorf("the model's processes outlived the job: %v", p)
	}
}

func modelCases() []hostileCase {
	return []hostileCase{
		{name: "model/floods stdout", slow: true, deliver: pyModel(
			"import sys\ndef loose_coupling(*configs):\n    line = 'x' * 1023 + '\\n'\n    for _ in range(80 * 1024):\n        sys.stdout.write(line)\n"),
			want: hostileWant{code: http.StatusAccepted, state: "succeeded", check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
				p := e.resultFiles(t, r.jobs[0])["stdout.log"]
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > 64<<20+200 || st.Size() < 64<<20 {
					t.Errorf("stdout.log is %d bytes, want the 64 MiB cap and its note", st.Size())
				}
				f, _ := os.Open(p)
				defer f.Close()
				tail := make([]byte, 200)
				_, _ = f.ReadAt(tail, st.Size()-200)
				if !strings.Contains(string(tail), "[output cut at 67108864 bytes by the dispatcher]") {
					t.Errorf("stdout.log does not say it was cut: %q", tail)
				}
			}}},
		{name: "model/floods stderr then raises", slow: true, deliver: pyModel(
			"import sys\ndef loose_coupling(*configs):\n    for _ in range(10 * 1024):\n        sys.stderr.write('e' * 1023 + '\\n')\n    raise RuntimeError('after the flood')\n"),
			want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: []string{"RuntimeError: after the flood"},
				check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
					if n := len(r.jobs[0].Error); n > 8<<10 {
						t.Errorf("the job's error is %d bytes: the stderr tail is not bounded", n)
					}
				}}},
		{name: "model/forks a child and returns", slow: true, deliver: pyModel(
			"import os, time\ndef loose_coupling(*configs):\n    if os.fork() == 0:\n        time.sleep(600)\n        os._exit(0)\n    print('parent returns', flush=True)\n"),
			want: hostileWant{code: http.StatusAccepted, state: "succeeded", check: noProcessesLeft}},
		{name: "model/forks a child that closes its output", slow: true, deliver: pyModel(
			"import os, time\ndef loose_coupling(*configs):\n    if os.fork() == 0:\n        os.close(1); os.close(2)\n        time.sleep(600)\n        os._exit(0)\n"),
			want: hostileWant{code: http.StatusAccepted, state: "succeeded", check: noProcessesLeft}},
		{name: "model/daemon in its own session", slow: true, deliver: pyModel(
			"import os, time\ndef loose_coupling(*configs):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            time.sleep(600)\n        os._exit(0)\n    time.sleep(0.2)\n"),
			want: hostileWant{code: http.StatusAccepted, state: "succeeded", check: noProcessesLeft}},
		{name: "model/exits the interpreter", deliver: pyModel("import os\ndef loose_coupling(*configs):\n    os._exit(7)\n"),
			want: failedWith("the Python interpreter", "exit status 7")},
		{name: "model/kills itself", deliver: pyModel("import os, signal\ndef loose_coupling(*configs):\n    os.kill(os.getpid(), signal.SIGKILL)\n"),
			want: failedWith("the Python interpreter", "killed by signal 9 (killed)")},
	}
}
