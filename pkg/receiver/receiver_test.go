package receiver

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/intake"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// fakeIntake accepts every event, or fails when unavailable is set.
type fakeIntake struct {
	unavailable bool
	mu          sync.Mutex
	got         []string
}

func (f *fakeIntake) Accept(_ context.Context, ev *event.Event) (intake.Receipt, error) {
	if f.unavailable {
		return intake.Receipt{}, intake.ErrUnavailable
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, ev.ID())
	return intake.Receipt{EventID: ev.ID(), Source: ev.Source(), Durable: intake.InStore,
		Jobs: []intake.JobRef{{ID: uuid.New(), Route: "proxymod", State: jobstore.Queued}}}, nil
}

func sample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSenderAuthentication(t *testing.T) {
	t.Parallel()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("pacifica:s3cret"))
	cases := []struct {
		name   string
		auth   Auth
		header string
		code   int
	}{
		{"no auth configured", Auth{}, "", http.StatusAccepted},
		{"basic, right", Auth{Type: "basic", Username: "pacifica", Password: "s3cret"}, basic, http.StatusAccepted},
		{"basic, scheme in lower case", Auth{Type: "basic", Username: "pacifica", Password: "s3cret"}, "basic " + strings.TrimPrefix(basic, "Basic "), http.StatusAccepted},
		{"basic, wrong password", Auth{Type: "basic", Username: "pacifica", Password: "other"}, basic, http.StatusUnauthorized},
		{"basic, missing", Auth{Type: "basic", Username: "pacifica", Password: "s3cret"}, "", http.StatusUnauthorized},
		{"header, right", Auth{Type: "header", Header: "Bearer xyz"}, "Bearer xyz", http.StatusAccepted},
		{"header, scheme case", Auth{Type: "header", Header: "Bearer xyz"}, "bearer xyz", http.StatusAccepted},
		{"header, wrong token", Auth{Type: "header", Header: "Bearer xyz"}, "Bearer abc", http.StatusUnauthorized},
		{"header, basic sent", Auth{Type: "header", Header: "Bearer xyz"}, basic, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fi := &fakeIntake{}
			rc, err := New(Config{Intake: fi, Auth: tc.auth})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(sample(t)))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("answered %d %s, want %d", rec.Code, rec.Body, tc.code)
			}
			if tc.code == http.StatusUnauthorized && len(fi.got) != 0 {
				t.Error("an unauthenticated event reached the intake")
			}
		})
	}
}

func TestAuthConfigurationChecked(t *testing.T) {
	t.Parallel()
	for _, a := range []Auth{{Type: "basic"}, {Type: "basic", Username: "pacifica"}, {Type: "basic", Username: "a:b", Password: "x"},
		{Type: "header", Header: "xyz"}, {Type: "header", Header: "Bearer "}, {Type: "kerberos"}} {
		if _, err := New(Config{Intake: &fakeIntake{}, Auth: a}); err == nil {
			t.Errorf("auth %+v accepted", a)
		}
	}
}

func TestUnavailableIs503AndBatchAnswers(t *testing.T) {
	t.Parallel()
	rc, _ := New(Config{Intake: &fakeIntake{unavailable: true}})
	req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(sample(t)))
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("answered %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}

	fi := &fakeIntake{}
	rc, _ = New(Config{Intake: fi})
	one := `{"specversion":"1.0","id":"a","source":"s","type":"t"}`
	two := `{"specversion":"1.0","id":"b","source":"s","type":"t"}`
	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("["+one+","+two+"]"))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	rec = httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"events"`) || strings.Join(sorted(fi.got), ",") != "a,b" {
		t.Errorf("batch: %d %s, intake got %v", rec.Code, rec.Body, fi.got)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// fixedIntake answers every event with the same jobs.
type fixedIntake struct{ jobs []intake.JobRef }

func (f fixedIntake) Accept(_ context.Context, ev *event.Event) (intake.Receipt, error) {
	return intake.Receipt{EventID: ev.ID(), Source: ev.Source(), Durable: intake.InStore, Jobs: f.jobs}, nil
}

// The answer says what the receiver did with the event, never a job's error: a re-sent
// event whose job failed (its error naming an internal URL) is answered without it, and
// without the job's current state, which changes from one delivery to the next.
func TestAnswerCarriesNoInternalText(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	answers := map[string]bool{}
	for _, state := range []jobstore.State{jobstore.Queued, jobstore.Running, jobstore.Failed} {
		rc, err := New(Config{Intake: fixedIntake{jobs: []intake.JobRef{{ID: id, Route: "proxymod", State: state, Duplicate: true,
			Error: "cartd: create cart: Post \"http://cartd.internal:8081/x\": dial tcp 10.1.2.3:8081: connect: connection refused"}}}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(sample(t)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusAccepted || !strings.Contains(body, `"duplicate":true`) {
			t.Errorf("answered %d %s", rec.Code, body)
		}
		for _, leak := range []string{"cartd.internal", "10.1.2.3", "connection refused", `"error"`, `"state"`} {
			if strings.Contains(body, leak) {
				t.Errorf("the answer holds %s: %s", leak, body)
			}
		}
		answers[body] = true
	}
	if len(answers) != 1 {
		t.Errorf("re-sending one event got %d different answers: %v", len(answers), answers)
	}

	// A new job: the state this delivery recorded it in.
	rc, _ := New(Config{Intake: fixedIntake{jobs: []intake.JobRef{{ID: id, Route: "proxymod", State: jobstore.Failed,
		Error: "invalid event: file path escapes its directory"}}}})
	req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(sample(t)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"state":"failed"`) || strings.Contains(rec.Body.String(), "escapes") {
		t.Errorf("new failed job: %s", rec.Body)
	}
}
