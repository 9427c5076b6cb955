package webui

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// Store is what the pages need of the job store.
type Store interface {
	Get(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	List(ctx context.Context, f jobstore.Filter) (jobstore.Page, error)
	Attempts(ctx context.Context, id uuid.UUID) ([]jobstore.Attempt, error)
	EventBodyWithin(ctx context.Context, id uuid.UUID, maxBytes int) (body []byte, contentType string, size int, err error)
	Cancel(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	Retry(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	RetryMatching(ctx context.Context, f jobstore.RetryFilter) ([]uuid.UUID, error)
}

// Counter gives the number of jobs by route and state, and when they were counted. The
// dashboard asks it on every view: it should answer from a recent count, not count the
// jobs each time.
type Counter interface {
	Counts(ctx context.Context) ([]jobstore.Count, time.Time, error)
}

// Config configures the pages. Store and Counter are required.
type Config struct {
	Store   Store
	Counter Counter
	// Admin and Read are the status API's authorizers, with the same meaning: nil Admin
	// disables the operator actions (no buttons, and a form sent anyway is answered 403
	// with AdminDisabled); an Admin that is not Enabled opens them to anyone. Read, when
	// Enabled, is required to see the pages (the operator credentials also do).
	Admin         statusapi.Authorizer
	AdminDisabled string
	Read          statusapi.Authorizer
	// FormSecret keys the tokens of the operator forms. Every process serving the same
	// users must have the same one (give the operator credentials' secret); empty takes
	// a random one, so that a form is accepted only by the process that made it.
	FormSecret []byte
	// ScriptRoutePrefix starts the route names of script jobs (default "script.").
	ScriptRoutePrefix string
	// MaxEventBytes bounds the event a job page reads to show it (default 256 KiB).
	MaxEventBytes int
	// Timeout bounds each request's database work (default 10s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// UI serves the pages.
type UI struct {
	cfg     Config
	formKey []byte
	pages   map[string]*template.Template
	origin  *http.CrossOriginProtection
}

//go:embed templates/*.html templates/style.css templates/live.js
var files embed.FS

// New returns the pages.
func New(cfg Config) (*UI, error) {
	if cfg.Store == nil || cfg.Counter == nil {
		return nil, errors.New("webui: no store or counter")
	}
	if cfg.ScriptRoutePrefix == "" {
		cfg.ScriptRoutePrefix = "script."
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = 256 << 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.AdminDisabled == "" {
		cfg.AdminDisabled = statusapi.DefaultAdminDisabled
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	secret := cfg.FormSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("webui: %w", err)
		}
	}
	key := sha256.Sum256(append([]byte("pacifica-dispatcher web page forms\x00"), secret...))
	u := &UI{cfg: cfg, formKey: key[:], origin: http.NewCrossOriginProtection()}
	u.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, http.StatusForbidden, "Refused: this form was sent from another site (a cross-origin request). "+
			"Operator actions are taken from the dispatcher's own pages only.")
	}))
	if err := u.parse(); err != nil {
		return nil, err
	}
	return u, nil
}

// Register adds the pages' routes to mux (an *http.ServeMux is one), all under /ui/.
func (u *UI) Register(mux statusapi.Mux) {
	read := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, u.readOnly(h)) }
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	read("GET /ui/{$}", u.dashboard)
	read("GET /ui/jobs", u.jobs)
	read("GET /ui/jobs/{id}", u.job)
	read("GET /ui/jobs/{id}/log", u.jobLog)
	read("GET /ui/scriptlog", u.scriptLog)
	mux.Handle("GET /ui/signin", http.HandlerFunc(u.signIn))
	mux.Handle("POST /ui/jobs/{id}/cancel", u.action(u.cancel))
	mux.Handle("POST /ui/jobs/{id}/retry", u.action(u.retry))
	mux.Handle("POST /ui/jobs/retry", u.action(u.bulkRetry))
	read("/ui/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, http.StatusNotFound, "There is no page "+r.URL.Path+".")
	})
}

// access is what a request may do.
type access struct {
	// Operator: the request may cancel and retry (operator credentials, or operators open).
	Operator bool
	// OperatorsConfigured: operator actions exist; SignIn: they need credentials the
	// request did not give.
	OperatorsConfigured, SignIn bool
	// Disabled says why there are no operator actions.
	Disabled string
}

func (u *UI) accessOf(r *http.Request) access {
	a := u.cfg.Admin
	switch {
	case a == nil:
		return access{Disabled: u.cfg.AdminDisabled}
	case !a.Enabled() || a.Check(r):
		return access{Operator: true, OperatorsConfigured: true}
	}
	return access{OperatorsConfigured: true, SignIn: true}
}

// isAdmin reports whether r carries the operator credentials (an open Admin gives no
// credentials, so it does not count), as the status API's.
func (u *UI) isAdmin(r *http.Request) bool {
	return u.cfg.Admin != nil && u.cfg.Admin.Enabled() && u.cfg.Admin.Check(r)
}

// readOnly guards h with the read credentials, which the operator credentials also
// satisfy, as the status API's GET routes: without them the answer is 401 and the
// browser asks for them.
func (u *UI) readOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rd := u.cfg.Read; rd != nil && rd.Enabled() && !rd.Check(r) && !u.isAdmin(r) {
			challenge(w, rd)
			u.fail(w, r, http.StatusUnauthorized, "This page needs the read credentials (or the operator credentials).")
			return
		}
		h(w, r)
	})
}

// signIn asks the browser for the operator credentials, then goes back to the dashboard.
func (u *UI) signIn(w http.ResponseWriter, r *http.Request) {
	switch a := u.accessOf(r); {
	case a.Operator:
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	case !a.OperatorsConfigured:
		u.fail(w, r, http.StatusForbidden, a.Disabled)
	default:
		challenge(w, u.cfg.Admin)
		u.fail(w, r, http.StatusUnauthorized, "Give the operator credentials to cancel and retry jobs.")
	}
}

// challenge sets the WWW-Authenticate header of a 401 answer.
func challenge(w http.ResponseWriter, az statusapi.Authorizer) {
	c := `Basic realm="pacifica-dispatcher"`
	if ch, ok := az.(interface{ Challenge() string }); ok {
		c = ch.Challenge()
	}
	w.Header().Set("WWW-Authenticate", c)
}

// secure sets the headers of every answer and returns the nonce of its style and script.
func secure(w http.ResponseWriter) string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+
		"'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	return nonce
}

// page is what every template gets.
type page struct {
	Title  string
	Nonce  string
	Access access
	// Token is the operator forms' token (operators only).
	Token string
	// Data is the page's own.
	Data any
}

// render writes the template name with data, or a 500 page when it fails.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	nonce := secure(w)
	p := page{Title: title, Nonce: nonce, Access: u.accessOf(r), Data: data}
	if p.Access.Operator {
		p.Token = u.token(r, time.Now())
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		u.cfg.Logger.Error("web page: rendering", "page", name, "error", err)
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be rendered; the dispatcher's log says why.</p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem is the data of the error page.
type problem struct {
	Status  int
	Text    string
	Message string
	Back    string
}

// fail answers status with an error page saying msg.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	u.failBack(w, r, status, msg, "")
}

func (u *UI) failBack(w http.ResponseWriter, r *http.Request, status int, msg, back string) {
	u.render(w, r, status, "error", http.StatusText(status), problem{Status: status, Text: http.StatusText(status), Message: msg, Back: back})
}

// storeError answers a failure of the job store.
func (u *UI) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, jobstore.ErrNotFound) {
		u.fail(w, r, http.StatusNotFound, "There is no such job (jobs are deleted after their retention time).")
		return
	}
	u.cfg.Logger.Warn("web page: job store error", "error", err)
	w.Header().Set("Retry-After", "5")
	u.fail(w, r, http.StatusServiceUnavailable, "The job store is unavailable; try again in a moment.")
}
