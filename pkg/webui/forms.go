package webui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// tokenLife is how long an operator form's token is accepted.
const tokenLife = 12 * time.Hour

// token is the token of the operator forms of a page shown at t to the request's
// credentials: the time, and an HMAC of it and of the Authorization the browser sent.
// Another site cannot read it from the page, and cannot make one without the key (which
// comes from the operator credentials' secret).
func (u *UI) token(r *http.Request, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return ts + "." + base64.RawURLEncoding.EncodeToString(u.tokenMAC(r, ts))
}

func (u *UI) tokenMAC(r *http.Request, ts string) []byte {
	m := hmac.New(sha256.New, u.formKey)
	cred := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	m.Write([]byte(ts))
	m.Write([]byte{0})
	m.Write(cred[:])
	return m.Sum(nil)
}

// tokenOK checks a form's token against the request's credentials.
func (u *UI) tokenOK(r *http.Request, tok string) bool {
	ts, mac, ok := strings.Cut(tok, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if age := time.Since(time.Unix(sec, 0)); age > tokenLife || age < -time.Minute {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	return err == nil && hmac.Equal(got, u.tokenMAC(r, ts))
}

// action serves an operator's form: refused (403) when it comes from another origin,
// when operator actions are disabled, without the operator credentials, or when its token
// is missing, stale or made for other credentials.
func (u *UI) action(do func(w http.ResponseWriter, r *http.Request)) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch a := u.accessOf(r); {
		case !a.OperatorsConfigured:
			u.fail(w, r, http.StatusForbidden, a.Disabled)
			return
		case !a.Operator:
			// 403, not 401: a challenge would make the browser ask for credentials and send
			// the form again, with a token made for the reader's.
			u.fail(w, r, http.StatusForbidden, "This action needs the operator credentials: sign in as operator "+
				"(/ui/signin), reload the page and try again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			u.fail(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if !u.tokenOK(r, r.PostForm.Get("token")) {
			u.fail(w, r, http.StatusForbidden, "Refused: the form's token is missing, expired, or was made for other "+
				"credentials. Reload the page and try again.")
			return
		}
		do(w, r)
	})
	return u.origin.Handler(h)
}

func (u *UI) cancel(w http.ResponseWriter, r *http.Request) {
	u.change(w, r, "cancel", u.cfg.Store.Cancel)
}
func (u *UI) retry(w http.ResponseWriter, r *http.Request) {
	u.change(w, r, "retry", u.cfg.Store.Retry)
}

// change cancels or retries the job of the path, then shows its page.
func (u *UI) change(w http.ResponseWriter, r *http.Request, what string, do func(context.Context, uuid.UUID) (jobstore.Job, error)) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not a job id.", r.PathValue("id")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), u.cfg.Timeout)
	defer cancel()
	j, err := do(ctx, id)
	switch {
	case errors.Is(err, jobstore.ErrConflict):
		u.failBack(w, r, http.StatusConflict, fmt.Sprintf("A %s job cannot be %s.", j.State, map[string]string{
			"cancel": "cancelled (only queued and running jobs can)", "retry": "retried (only failed and cancelled jobs can)"}[what]),
			jobPath(id))
		return
	case err != nil:
		u.storeError(w, r, err)
		return
	}
	u.cfg.Logger.Info("operator action", "path", r.URL.Path, "job_id", id, "state", j.State, "from", "web page")
	http.Redirect(w, r, jobPath(id)+"?done="+what, http.StatusSeeOther)
}

// bulkResult is the data of the bulk retry's answer.
type bulkResult struct {
	Request statusapi.BulkRetry
	IDs     []uuid.UUID
}

// bulkRetry queues again the failed or cancelled jobs the form selects, as POST
// /jobs/retry does.
func (u *UI) bulkRetry(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	req := statusapi.BulkRetry{State: f.Get("state"), Route: f.Get("route"), Since: strings.TrimSpace(f.Get("since")),
		Until: strings.TrimSpace(f.Get("until")), Error: f.Get("error")}
	if s := strings.TrimSpace(f.Get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			u.failBack(w, r, http.StatusBadRequest, "limit: want a whole number from 1 to 10000.", "/ui/jobs")
			return
		}
		req.Limit = n
	}
	rf, err := req.Filter()
	if err != nil {
		u.failBack(w, r, http.StatusBadRequest, err.Error(), "/ui/jobs")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), u.cfg.Timeout)
	defer cancel()
	ids, err := u.cfg.Store.RetryMatching(ctx, rf)
	if err != nil {
		u.storeError(w, r, err)
		return
	}
	u.cfg.Logger.Info("operator action: bulk retry", "retried", len(ids), "state", req.State, "route", req.Route,
		"since", req.Since, "until", req.Until, "error", req.Error, "from", "web page")
	u.render(w, r, http.StatusOK, "bulk", "Retried", bulkResult{Request: req, IDs: ids})
}

func jobPath(id uuid.UUID) string { return "/ui/jobs/" + id.String() }
