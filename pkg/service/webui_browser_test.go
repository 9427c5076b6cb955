package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// startBrowser starts a headless Chromium for the test (CHROMIUM names the program; by
// default chromium or chromium-browser on PATH). Without one the test fails in CI and is
// skipped elsewhere, saying so loudly.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		msg := "Chromium is not installed (apt-get install chromium, or set CHROMIUM): the jobs web page's browser tests did not run"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED *** " + msg + " ***")
	}
	// The machine's network may be closed: without these flags Chromium waits on
	// connections of its own (updates, sync, QUIC probes).
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser, which lives as long as ctx: no timeout on it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting Chromium (%s): %v", path, err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("Chromium (%s) did not start within two minutes", path)
	}
	return ctx
}

// tab opens a tab of the browser; with a user and password, every request it makes
// carries them (as a browser does once the user gave them).
func tab(t *testing.T, browser context.Context, user, password string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The first action opens the tab, which lives as long as ctx: no timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: open a tab: %v", err)
	}
	do(t, ctx, "set up the tab", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if user == "" {
			return nil
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Authorization": auth}})
		return err
	}))
	return ctx
}

// do runs browser actions within a minute.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise).
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: %s: %v", expr, err)
	}
	return v
}

// waitFor waits, up to two minutes, until the page's JavaScript expression is true. The
// page may be loading meanwhile (a form sent, a reload): an expression that fails is
// tried again.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var err error
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var ok bool
		ok, err = chromedp.Run(ectx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("browser: waited two minutes for %s (last error: %v)\npage:\n%s", what, err, page)
}

// text returns the text of the page's element sel ("" when there is none).
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.textContent:""})()`, sel))
}

// post sends a form from the page with fetch and returns the answer's status and text.
func post(t *testing.T, ctx context.Context, path, token string) (int, string) {
	t.Helper()
	res := eval[struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
	}](t, ctx, fmt.Sprintf(`fetch(%q, {method: "POST", body: new URLSearchParams({token: %q}), credentials: "same-origin"})
		.then(function (r) { return r.text().then(function (b) { return {status: r.status, text: b}; }); })`, path, token))
	return res.Status, res.Text
}

// screenshot saves the page as a PNG in SCREENSHOT_DIR (default bin/screenshots).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "screenshots")
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// talkScript prints, then waits until the test creates the file "gate" in its job
// directory (for at most two minutes), prints again and leaves an output.
const talkScript = `#!/bin/sh
echo "first line from the script"
echo "<b>not bold</b> & not markup"
echo "a warning" >&2
i=0
while [ ! -e gate ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done
echo "last line from the script"
echo done > output/result.txt
`

// The jobs web page in a browser, on the real service with the simulated Pacifica: the
// dashboard, the list and its filters, a job page whose log shows a running script's
// output before the script ends, retry with and without the operator credentials, a
// cross-site form refused, a bulk retry, and what events and logs carry shown as text.
func TestJobsWebPage(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	st := startScripts(t, map[string]string{"talk": talkScript, "broken": "#!/bin/sh\necho 'about to fail' >&2\nexit 3\n"}, "", true)
	s, h := st.site, st.h
	ops := tab(t, browser, h.cfg.AdminAuthUsername, h.cfg.AdminAuthPassword)
	reader := tab(t, browser, "", "")

	hostile := `<script>document.title="owned"</script><img src=x onerror="document.title='owned'">`
	src := s.uploadSource(t, map[string]string{"data.txt": "1\n"}, "do_processing", "True", "note", hostile)
	var talkID, brokenID string
	eventually(t, 60*time.Second, "the upload's two script jobs, the broken one failed and the other running", func() bool {
		var page struct{ Jobs []jobJSON }
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
		for _, j := range page.Jobs {
			switch {
			case j.Route == "script.talk" && j.State == "running":
				talkID = j.ID
			case j.Route == "script.broken" && j.State == "failed":
				brokenID = j.ID
			}
		}
		return talkID != "" && brokenID != ""
	})
	jobState := func(id string) jobJSON {
		var j jobJSON
		h.get("/jobs/"+id, &j)
		return j
	}

	t.Run("dashboard", func(t *testing.T) {
		do(t, ops, "open the dashboard", chromedp.Navigate(h.base+"/ui/"))
		waitFor(t, ops, "the counts of both script routes", `document.querySelector("#counts") &&
			document.querySelector("#counts").innerText.includes("script.talk") && document.querySelector("#counts").innerText.includes("script.broken")`)
		if got := text(t, ops, "#operator"); got != "operator" {
			t.Errorf("the operator is shown as %q", got)
		}
	})

	t.Run("list and filter", func(t *testing.T) {
		do(t, ops, "open the list", chromedp.Navigate(h.base+"/ui/jobs"))
		waitFor(t, ops, "both jobs listed", `document.querySelector("#jobs").innerText.includes("script.talk") &&
			document.querySelector("#jobs").innerText.includes("script.broken")`)
		screenshot(t, ops, "jobs-list")
		do(t, ops, "filter on failed jobs", chromedp.SetValue(chromedp.CSS("#f-state"), "failed"),
			chromedp.Click(chromedp.CSS("#f-apply")))
		waitFor(t, ops, "the failed job alone", `location.search.includes("state=failed") &&
			document.querySelector("#jobs").innerText.includes("script.broken") && !document.querySelector("#jobs").innerText.includes("script.talk")`)
		do(t, ops, "open the failed job from the list", chromedp.Click(chromedp.CSS("#jobs a.job-link")))
		waitFor(t, ops, "the failed job's page", `location.pathname === "/ui/jobs/`+brokenID+`" && document.querySelector("#error") !== null`)
		if got := text(t, ops, "#error"); !strings.Contains(got, "script broken failed: exit status 3") {
			t.Errorf("the failed job's error: %q", got)
		}
	})

	t.Run("live log", func(t *testing.T) {
		do(t, ops, "open the running job", chromedp.Navigate(h.base+"/ui/jobs/"+talkID))
		waitFor(t, ops, "the script's first line in the log", `document.querySelector("#log").textContent.includes("[stdout] first line from the script")`)
		// The script waits for its gate: the job is still running, its output already shown.
		if j := jobState(talkID); j.State != "running" {
			t.Fatalf("job %s while its script waits, want running", j.State)
		}
		if got := text(t, ops, "#state"); got != "running" {
			t.Errorf("the page shows state %q", got)
		}
		waitFor(t, ops, "stderr in the log too", `document.querySelector("#log").textContent.includes("[stderr] a warning")`)
		bold := eval[int](t, ops, `document.querySelectorAll("#log b").length`)
		if bold != 0 || !strings.Contains(text(t, ops, "#log"), "<b>not bold</b> & not markup") {
			t.Errorf("the script's output was taken as markup (%d <b> elements)", bold)
		}
		screenshot(t, ops, "job-running")
		if err := os.WriteFile(filepath.Join(h.cfg.DataDir, talkID, "1", "gate"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ops, "the job succeeded, its page reloaded", `document.querySelector("#state").textContent === "succeeded" &&
			document.querySelector("#outputs") !== null && document.querySelector("#log").textContent.includes("last line from the script")`)
		j := jobState(talkID)
		if j.TransactionID == nil || !strings.Contains(text(t, ops, "#outputs"), jsonInt(*j.TransactionID)) {
			t.Errorf("the outputs do not show the job's transaction %v: %q", j.TransactionID, text(t, ops, "#outputs"))
		}
		// The event's key/values, which the uploader chose, are shown as text.
		kvs := text(t, ops, "#keyvalues")
		title := eval[string](t, ops, `document.title`)
		if !strings.Contains(kvs, hostile) || title == "owned" {
			t.Errorf("the hostile key/value was not shown as text (title %q): %q", title, kvs)
		}
		screenshot(t, ops, "job-page")
	})

	t.Run("reader sees no buttons and cannot retry", func(t *testing.T) {
		do(t, reader, "open the failed job", chromedp.Navigate(h.base+"/ui/jobs/"+brokenID))
		waitFor(t, reader, "the job page", `document.querySelector("#state") !== null`)
		buttons := eval[int](t, reader, `document.querySelectorAll("#retry, #cancel, #bulk").length`)
		if buttons != 0 || !strings.Contains(text(t, reader, "header"), "sign in as operator") {
			t.Errorf("a reader sees %d operator buttons; header %q", buttons, text(t, reader, "header"))
		}
		// A token taken from the operator's page does not help without the credentials.
		do(t, ops, "open the failed job", chromedp.Navigate(h.base+"/ui/jobs/"+brokenID))
		waitFor(t, ops, "the retry form", `document.querySelector("#retry") !== null`)
		token := eval[string](t, ops, `document.querySelector("form[action$='/retry'] input[name=token]").value`)
		status, body := post(t, reader, "/ui/jobs/"+brokenID+"/retry", token)
		if status != http.StatusForbidden || !strings.Contains(body, "needs the operator credentials") {
			t.Errorf("a reader's retry: %d\n%s", status, body)
		}
		if j := jobState(brokenID); j.State != "failed" || j.Attempts != 1 {
			t.Errorf("after a reader's retry the job is %s after %d attempts", j.State, j.Attempts)
		}
	})

	t.Run("cross-site form refused", func(t *testing.T) {
		do(t, ops, "open the failed job", chromedp.Navigate(h.base+"/ui/jobs/"+brokenID))
		waitFor(t, ops, "the retry form", `document.querySelector("#retry") !== null`)
		token := eval[string](t, ops, `document.querySelector("form[action$='/retry'] input[name=token]").value`)
		// Another site (another origin) whose page posts the operator's form, token and all,
		// in the operator's browser.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/ui/jobs/%s/retry">`+
				`<input type="hidden" name="token" value="%s"></form><script>document.getElementById("f").submit()</script>`,
				h.base, brokenID, token)
		}))
		defer evil.Close()
		do(t, ops, "visit the other site", chromedp.Navigate(evil.URL))
		waitFor(t, ops, "the refusal", `location.pathname.endsWith("/retry") && document.querySelector("#problem") !== null`)
		if got := text(t, ops, "#problem"); !strings.Contains(got, "sent from another site") {
			t.Errorf("the cross-site form's answer: %q", got)
		}
		if j := jobState(brokenID); j.State != "failed" || j.Attempts != 1 {
			t.Errorf("after the cross-site form the job is %s after %d attempts", j.State, j.Attempts)
		}
	})

	t.Run("retry", func(t *testing.T) {
		do(t, ops, "open the failed job", chromedp.Navigate(h.base+"/ui/jobs/"+brokenID))
		waitFor(t, ops, "the retry button", `document.querySelector("#retry") !== null`)
		do(t, ops, "retry", chromedp.Click(chromedp.CSS("#retry")))
		waitFor(t, ops, "the job page after the retry", `document.querySelector("#done") !== null`)
		if got := text(t, ops, "#done"); !strings.Contains(got, "Queued again") {
			t.Errorf("after retry the page says %q", got)
		}
		eventually(t, 60*time.Second, "the retried job failed again", func() bool {
			j := jobState(brokenID)
			return j.State == "failed" && j.Attempts == 2
		})
	})

	t.Run("bulk retry", func(t *testing.T) {
		do(t, ops, "open the failed jobs", chromedp.Navigate(h.base+"/ui/jobs?state=failed"))
		waitFor(t, ops, "the bulk retry form", `document.querySelector("#bulk") !== null`)
		do(t, ops, "bulk retry", chromedp.Click(chromedp.CSS("#bulk summary")), chromedp.Click(chromedp.CSS("#bulk-retry")))
		waitFor(t, ops, "the bulk retry's answer", `document.querySelector("#retried") !== null`)
		if got := text(t, ops, "#retried"); !strings.Contains(got, "1 failed or cancelled job was queued again") {
			t.Errorf("bulk retry: %q", got)
		}
		eventually(t, 60*time.Second, "the job retried in bulk failed again", func() bool {
			j := jobState(brokenID)
			return j.State == "failed" && j.Attempts == 3
		})
	})

	t.Run("script log", func(t *testing.T) {
		do(t, reader, "open the script log", chromedp.Navigate(h.base+"/ui/scriptlog?script=talk"))
		waitFor(t, reader, "the talk script's run", `document.body.innerText.includes("`+talkID+`")`)
		if strings.Contains(text(t, reader, "main"), brokenID) {
			t.Error("the script log of talk shows a run of broken")
		}
	})
}
