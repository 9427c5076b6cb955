package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// result is what the run found.
type result struct {
	sent, ok2xx, notOK   int
	heldIn, finalReasons counter
	retriedDeliveries    int
	retryReasons         counter
	unexplained          []string

	distinctAccepted, expectedJobs int
	noJobAnswers                   int // 2xx answers naming no job
	unanswered                     int // jobs of events whose every try failed
	inconsistent                   int // the same event answered with different jobs
	lost                           []string
	byState                        counter
	created, notFinished           int
	stuck                          []string
	multiAttempt                   int
	failedErrors                   counter

	duplicated        map[string][]upload // job id -> its uploads, when more than one
	succeededNoUpload []string
	wrongTransaction  []string
	uploadsUnfinished []string // uploads of jobs that did not succeed

	// The receivers' SIGTERM restarts: how many, and the refused deliveries in their
	// windows (the sender's and notifications').
	termRestarts int
	termRefused  []string
	// The uploads through the simulator, notifications' deliveries and the subscription.
	sim                      []simUpload
	loadTried, loadFailed    int
	deliveries, deliveryFail int
	reenable                 time.Duration
	disabledAtEnd            []string
	whileDisabled            int

	settled                     bool
	settleTime, sendTime, total time.Duration
	unexpected                  []string
	faultErrs                   []error
	noFaults, harsh             bool
	ok                          bool
}

func tally(outcomes []outcome, jobs map[string]jobView, uploads map[string][]upload, c *chaos) *result {
	r := &result{heldIn: counter{}, finalReasons: counter{}, retryReasons: counter{}, byState: counter{},
		failedErrors: counter{}, duplicated: map[string][]upload{}}
	r.sent = len(outcomes)
	eventJobs := map[int]string{}
	accepted := map[int]bool{}
	expected := map[string]int{} // job id -> distinct event number
	explain := func(at time.Time, status int, reason string) {
		if !c.explained(at, explainers(status), 5*time.Second) {
			r.unexplained = append(r.unexplained, fmt.Sprintf("%s at %s", reason, at.Format("15:04:05.000")))
		}
		if c.explained(at, []string{"receiver-term"}, time.Second) {
			r.termRefused = append(r.termRefused, fmt.Sprintf("sender: %s at %s", reason, at.Format("15:04:05.000")))
		}
	}
	for _, oc := range outcomes {
		for _, f := range oc.retries {
			r.retryReasons[f.reason]++
			explain(f.at, f.status, f.reason)
		}
		if len(oc.retries) > 0 {
			r.retriedDeliveries++
		}
		if oc.reason != "" {
			r.notOK++
			r.finalReasons[oc.reason]++
			explain(oc.at, oc.status, oc.reason)
			continue
		}
		r.ok2xx++
		r.heldIn[oc.heldIn]++
		accepted[oc.d.n] = true
		if len(oc.jobs) == 0 {
			r.noJobAnswers++
			continue
		}
		ids := strings.Join(oc.jobs, ",")
		if prev, ok := eventJobs[oc.d.n]; ok && prev != ids {
			r.inconsistent++
		}
		eventJobs[oc.d.n] = ids
		for _, id := range oc.jobs {
			expected[id] = oc.d.n
		}
	}
	r.distinctAccepted, r.expectedJobs = len(accepted), len(expected)
	for id := range expected {
		if _, ok := jobs[id]; !ok {
			r.lost = append(r.lost, id)
		}
	}
	sort.Strings(r.lost)
	r.created = len(jobs)
	for id, j := range jobs {
		r.byState[j.State]++
		if !final(j.State) {
			r.notFinished++
			r.stuck = append(r.stuck, fmt.Sprintf("%s %s after %d attempts: %s", id, j.State, j.Attempts, firstLine(j.Error)))
		}
		if j.Attempts > 1 {
			r.multiAttempt++
		}
		if j.State == "failed" {
			r.failedErrors[firstLine(j.Error)]++
		}
		if _, ok := expected[id]; !ok && !strings.HasPrefix(j.EventID, "metadata.ingest.") {
			r.unanswered++
		}
		ups := uploads[id]
		switch {
		case len(ups) > 1:
			r.duplicated[id] = ups
		case j.State == "succeeded" && len(ups) == 0:
			r.succeededNoUpload = append(r.succeededNoUpload, id)
		}
		if j.State == "succeeded" && len(ups) >= 1 && (j.TransactionID == nil || !hasTx(ups, *j.TransactionID)) {
			r.wrongTransaction = append(r.wrongTransaction, id)
		}
		if j.State != "succeeded" && len(ups) > 0 {
			r.uploadsUnfinished = append(r.uploadsUnfinished, fmt.Sprintf("%s (%s, %d uploads)", id, j.State, len(ups)))
		}
	}
	return r
}

// explainers are the windows that explain a failed delivery of the given status: a
// connection error (0) or the front door's 502 a receiver killed, a 503 an outage of
// PostgreSQL or RabbitMQ; nothing else.
func explainers(status int) []string {
	switch status {
	case 0, 502:
		return []string{"receiver"}
	case 503:
		return []string{"postgres", "rabbitmq"}
	}
	return nil
}

// tallyDeliveries counts notifications' deliveries: the failed ones must be explained by
// a fault, none may fall in a SIGTERM restart; and the subscriptions at the end.
func (r *result) tallyDeliveries(ds []pacificasim.Delivery, subs []pacificasim.Subscription, c *chaos, snd devenv.Sender) {
	r.deliveries = len(ds)
	for _, d := range ds {
		if d.Error == "" {
			continue
		}
		r.deliveryFail++
		reason := fmt.Sprintf("notifications' delivery of %s: %d %s", d.EventID, d.Status, firstLine(d.Error))
		if !c.explained(d.Time, explainers(d.Status), 5*time.Second) {
			r.unexplained = append(r.unexplained, fmt.Sprintf("%s at %s", reason, d.Time.Format("15:04:05.000")))
		}
		if c.explained(d.Time, []string{"receiver-term"}, time.Second) {
			r.termRefused = append(r.termRefused, fmt.Sprintf("%s at %s", reason, d.Time.Format("15:04:05.000")))
		}
	}
	for _, s := range subs {
		if s.User == "dispatcher" && s.Deleted == nil && (!s.Active() || !withCredentials(s, snd)) {
			r.disabledAtEnd = append(r.disabledAtEnd, fmt.Sprintf("%s (active %v, credentials %v)", s.Name, s.Active(), withCredentials(s, snd)))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r.reenable = c.reenable
	for _, w := range c.windows {
		switch w.what {
		case "receiver-term":
			r.termRestarts++
		case "subscription":
			for _, u := range r.sim {
				if !u.created.Before(w.from) && !u.created.After(w.to) {
					r.whileDisabled++
				}
			}
		}
	}
}

// simFigures counts the uploads through the simulator: not delivered by notifications,
// recovered by catch-up, and those that did not run exactly once.
func (r *result) simFigures() (undelivered, recovered int, noJob, manyJobs, badResults []string) {
	for _, u := range r.sim {
		if !u.delivered {
			undelivered++
		}
		if u.recovered {
			recovered++
		}
		switch {
		case len(u.jobs) == 0:
			noJob = append(noJob, fmt.Sprintf("upload %d (%s)", u.tx, u.eventID))
		case len(u.jobs) > 1:
			manyJobs = append(manyJobs, fmt.Sprintf("upload %d: jobs %s", u.tx, strings.Join(u.jobs, ", ")))
		}
		if u.results != 1 {
			badResults = append(badResults, fmt.Sprintf("upload %d: %d result transactions", u.tx, u.results))
		}
	}
	return
}

func hasTx(s []upload, v int64) bool {
	for _, x := range s {
		if x.tx == v {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func (r *result) print(w io.Writer, base string, t0 time.Time) {
	fmt.Fprintln(w, "events")
	fmt.Fprintf(w, "  sent                         %6d\n", r.sent)
	fmt.Fprintf(w, "  answered 2xx                 %6d   held in %s\n", r.ok2xx, r.heldIn)
	fmt.Fprintf(w, "  answered otherwise           %6d   %s\n", r.notOK, r.finalReasons)
	fmt.Fprintf(w, "  retried by the sender        %6d   failed tries: %s\n", r.retriedDeliveries, r.retryReasons)
	fmt.Fprintf(w, "  distinct events accepted     %6d\n", r.distinctAccepted)
	fmt.Fprintln(w, "jobs")
	fmt.Fprintf(w, "  created                      %6d   (%d named by 2xx answers, %d of events never answered 2xx)\n",
		r.created, r.expectedJobs, r.unanswered)
	fmt.Fprintf(w, "  succeeded                    %6d\n", r.byState["succeeded"])
	fmt.Fprintf(w, "  failed                       %6d   %s\n", r.byState["failed"], r.failedErrors)
	if n := r.byState["cancelled"] + r.byState["unrouted"]; n > 0 {
		fmt.Fprintf(w, "  cancelled or unrouted        %6d\n", n)
	}
	fmt.Fprintf(w, "  still not finished           %6d\n", r.notFinished)
	fmt.Fprintf(w, "  run more than once           %6d   (jobs with more than one upload at ingest)\n", len(r.duplicated))
	fmt.Fprintf(w, "  succeeded without upload     %6d\n", len(r.succeededNoUpload))
	fmt.Fprintf(w, "  took more than one attempt   %6d\n", r.multiAttempt)
	fmt.Fprintf(w, "  lost (accepted, no job)      %6d\n", len(r.lost)+r.noJobAnswers)
	undelivered, recovered, noJob, manyJobs, badResults := r.simFigures()
	fmt.Fprintln(w, "uploads through the simulator (ingest, metadata, notifications, subscription, front door)")
	fmt.Fprintf(w, "  uploaded                     %6d   (%d tried, %d failed at ingest)\n", len(r.sim), r.loadTried, r.loadFailed)
	fmt.Fprintf(w, "  made while disabled by hand  %6d\n", r.whileDisabled)
	fmt.Fprintf(w, "  not delivered by notificatns %6d   (%d deliveries, %d failed)\n", undelivered, r.deliveries, r.deliveryFail)
	fmt.Fprintf(w, "  recovered by catch-up        %6d\n", recovered)
	fmt.Fprintf(w, "  without a job / with several %6d / %d\n", len(noJob), len(manyJobs))
	fmt.Fprintf(w, "  not exactly one result       %6d\n", len(badResults))
	fmt.Fprintln(w, "receivers and subscription")
	fmt.Fprintf(w, "  SIGTERM restarts             %6d   refused deliveries in them: %d\n", r.termRestarts, len(r.termRefused))
	switch {
	case r.reenable > 0:
		fmt.Fprintf(w, "  re-enabled by the watchdog   %7.1fs after the PUT (SUBSCRIPTION_CHECK_INTERVAL=%s)\n", r.reenable.Seconds(), checkInterval)
	case r.reenable < 0:
		fmt.Fprintf(w, "  re-enabled by the watchdog      never\n")
	}
	fmt.Fprintln(w, "time")
	fmt.Fprintf(w, "  sending                      %7.1fs\n", r.sendTime.Seconds())
	fmt.Fprintf(w, "  settle after the last answer %7.1fs\n", r.settleTime.Seconds())
	fmt.Fprintf(w, "  whole run                    %7.1fs\n", r.total.Seconds())

	shown := 0
	for id, ups := range r.duplicated {
		if shown == 3 {
			break
		}
		shown++
		fmt.Fprintf(w, "duplicate: job %s uploaded %d times\n", id, len(ups))
		for _, u := range ups {
			fmt.Fprintf(w, "    transaction %d stored at %6.1fs\n", u.tx, u.stored.Sub(t0).Seconds())
		}
		var j struct {
			Logs    string `json:"logs"`
			History []struct {
				N          int        `json:"n"`
				Worker     string     `json:"worker"`
				StartedAt  time.Time  `json:"started_at"`
				FinishedAt *time.Time `json:"finished_at"`
				Outcome    string     `json:"outcome"`
				Error      string     `json:"error"`
			} `json:"attempt_history"`
		}
		if err := devenv.GetJSON(base+"/jobs/"+id, &j); err == nil {
			for _, a := range j.History {
				end := "-"
				if a.FinishedAt != nil {
					end = fmt.Sprintf("%.1fs", a.FinishedAt.Sub(t0).Seconds())
				}
				fmt.Fprintf(w, "    attempt %d on %s, %.1fs to %s: %s %s\n", a.N, a.Worker, a.StartedAt.Sub(t0).Seconds(), end,
					a.Outcome, firstLine(a.Error))
			}
			lines := strings.Split(strings.TrimSpace(j.Logs), "\n")
			if len(lines) > 12 {
				lines = lines[len(lines)-12:]
			}
			fmt.Fprintf(w, "    job log (end):\n      %s\n", strings.Join(lines, "\n      "))
		}
	}
	sort.Strings(r.stuck)
	for _, l := range listSome("not finished", r.stuck) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("lost job", r.lost) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("unexplained failure", r.unexplained) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("succeeded without its upload", r.succeededNoUpload) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("transaction id not its upload", r.wrongTransaction) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("uploaded but did not succeed", r.uploadsUnfinished) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("refused during a SIGTERM restart", r.termRefused) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("upload without a job", noJob) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("upload with several jobs", manyJobs) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("upload not run once", badResults) {
		fmt.Fprintln(w, l)
	}
	for _, l := range listSome("subscription not enabled at the end", r.disabledAtEnd) {
		fmt.Fprintln(w, l)
	}
	for _, u := range r.unexpected {
		fmt.Fprintln(w, "process:", u)
	}
	for _, e := range r.faultErrs {
		fmt.Fprintln(w, "fault not applied:", e)
	}
}

func listSome(what string, items []string) []string {
	var out []string
	for i, it := range items {
		if i == 5 {
			out = append(out, fmt.Sprintf("%s: ... and %d more", what, len(items)-5))
			break
		}
		out = append(out, what+": "+it)
	}
	return out
}

func (r *result) verdict(w io.Writer, o options) bool {
	undelivered, recovered, noJob, manyJobs, badResults := r.simFigures()
	exps := []expectation{
		{len(r.lost) == 0 && r.noJobAnswers == 0 && r.inconsistent == 0,
			fmt.Sprintf("no accepted event lost (%d lost, %d answers naming no job, %d events answered with different jobs)",
				len(r.lost), r.noJobAnswers, r.inconsistent)},
		{len(r.duplicated) == 0, fmt.Sprintf("no job uploaded twice (%d)", len(r.duplicated))},
		{r.settled && r.notFinished == 0, fmt.Sprintf("nothing stuck: every job final within %s of the last answer (%d not)", o.settle, r.notFinished)},
		{len(r.unexplained) == 0, fmt.Sprintf("every non-2xx answer or connection error explained by a fault (%d unexplained)", len(r.unexplained))},
		{r.byState["succeeded"] == r.created,
			fmt.Sprintf("every job succeeded (the faults are transient; JOB_MAX_ATTEMPTS=20): %d of %d", r.byState["succeeded"], r.created)},
		{len(r.succeededNoUpload) == 0 && len(r.wrongTransaction) == 0 && len(r.uploadsUnfinished) == 0,
			fmt.Sprintf("every succeeded job has its upload and only they do (%d without, %d wrong id, %d uploads of unsucceeded jobs)",
				len(r.succeededNoUpload), len(r.wrongTransaction), len(r.uploadsUnfinished))},
		{len(r.unexpected) == 0, fmt.Sprintf("no dispatcher process ended by itself (%d)", len(r.unexpected))},
		{len(r.faultErrs) == 0, fmt.Sprintf("every fault was applied (%d errors)", len(r.faultErrs))},
		{len(r.sim) > 0 && len(noJob) == 0 && len(manyJobs) == 0 && len(badResults) == 0,
			fmt.Sprintf("every upload through the simulator ran once: one job, one result (%d uploads, %d made while the subscription was disabled, %d not delivered by notifications, %d recovered by catch-up; %d without a job, %d with several, %d without exactly one result)",
				len(r.sim), r.whileDisabled, undelivered, recovered, len(noJob), len(manyJobs), len(badResults))},
		{len(r.disabledAtEnd) == 0, fmt.Sprintf("every subscription enabled, with its credentials, at the end (%d not; notifications disabled one on %d failed deliveries)",
			len(r.disabledAtEnd), r.deliveryFail)},
	}
	if !r.noFaults {
		exps = append(exps,
			expectation{r.termRestarts > 0 && len(r.termRefused) == 0,
				fmt.Sprintf("no delivery refused during the receivers' SIGTERM restarts (%d restarts, %d refused)", r.termRestarts, len(r.termRefused))},
			expectation{r.reenable > 0 && r.reenable <= 5*checkInterval,
				fmt.Sprintf("the subscription disabled by hand re-enabled by the watchdog with its credentials within %s (%s)",
					5*checkInterval, reenableText(r.reenable))})
	}
	return printVerdict(w, exps)
}

func reenableText(d time.Duration) string {
	switch {
	case d < 0:
		return "never"
	case d == 0:
		return "not played"
	}
	return fmt.Sprintf("took %.1fs", d.Seconds())
}

// line is the run's one-line summary, for -runs.
func (r *result) line() string {
	_, recovered, noJob, manyJobs, badResults := r.simFigures()
	verdict := "ok"
	if !r.ok {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%-4s duplicated uploads %d, lost %d, stuck %d, unexplained %d, refused in SIGTERM restarts %d, re-enabled %s, uploads through the simulator %d (recovered by catch-up %d, not run once %d), %.0fs",
		verdict, len(r.duplicated), len(r.lost)+r.noJobAnswers, r.notFinished, len(r.unexplained), len(r.termRefused),
		reenableText(r.reenable), len(r.sim), recovered, len(noJob)+len(manyJobs)+len(badResults), r.total.Seconds())
}
