package pacificasim

import (
	"fmt"
	"net/http"
	"time"
)

// The services of a simulator, as SetFault names them.
const (
	ServiceCartd         = "cartd"
	ServiceIngest        = "ingest"
	ServiceNotifications = "notifications"
	ServiceMetadata      = "metadata"
)

var services = []string{ServiceCartd, ServiceIngest, ServiceNotifications, ServiceMetadata}

// Fault makes a service misbehave: every request first hangs for Delay (or until the client
// gives up), then is answered with Status and Pacifica's error body (or Body) instead of its
// real answer. A zero Status answers normally after the delay.
type Fault struct {
	// Status is the status to answer, normally a 5xx; 0 answers normally.
	Status int
	// Delay is how long to hang before answering.
	Delay time.Duration
	// Count limits the fault to the next Count requests; 0 keeps it until cleared.
	Count int
	// Body, when set, is the answer's body, sent as it is (with Content-Type
	// application/json, whatever it holds) instead of Pacifica's error body: with Status 200
	// it makes a service answer garbage, e.g. "<html>" or {"job_id": "x"}.
	Body string
	// Path limits the fault to requests of this URL path (e.g. "/get_state"); other
	// requests are answered normally and not counted. Empty: every request.
	Path string
	// After serves the request first and then answers Status (and Body) in place of the
	// real answer, which is lost: the service did the work but the client never learns it,
	// as when a fronting proxy gives up (504) while the service is still answering.
	After bool
}

type faultState struct {
	Fault
	left int // requests left when Count > 0
}

// SetFault makes service (ServiceCartd, ServiceIngest, ServiceNotifications or
// ServiceMetadata) misbehave as f says until ClearFault, or for f.Count requests. A fault
// of notifications also hits the ingest events handed to it, as the metadata service's POST
// to /receive would be: a Status fault loses the event (Event.Lost), as in Pacifica. An
// unknown service panics.
func (s *Sim) SetFault(service string, f Fault) {
	mustService(service)
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.faults, service)
		return
	}
	s.faults[service] = &faultState{Fault: f, left: f.Count}
}

// ClearFault makes service behave again.
func (s *Sim) ClearFault(service string) {
	mustService(service)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, service)
}

func mustService(service string) {
	for _, sv := range services {
		if sv == service {
			return
		}
	}
	panic(fmt.Sprintf("pacificasim: unknown service %q", service))
}

// takeFault returns the fault of service that applies to one request of path, counting it.
func (s *Sim) takeFault(service, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, ok := s.faults[service]
	if !ok || (fs.Path != "" && fs.Path != path) {
		return Fault{}, false
	}
	if fs.Count > 0 {
		fs.left--
		if fs.left <= 0 {
			delete(s.faults, service)
		}
	}
	return fs.Fault, true
}

// withFaults wraps the handler of service with its faults.
func (s *Sim) withFaults(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.takeFault(service, r.URL.Path)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.ctx.Done():
				t.Stop()
			}
		}
		if f.Status == 0 {
			h.ServeHTTP(w, r)
			return
		}
		if f.After {
			h.ServeHTTP(&discardAnswer{header: http.Header{}}, r)
		}
		s.log.Info("fault", "service", service, "method", r.Method, "path", r.URL.Path, "status", f.Status)
		if f.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			return
		}
		writeError(w, f.Status, http.StatusText(f.Status))
	})
}

// discardAnswer is a ResponseWriter that throws the answer away.
type discardAnswer struct{ header http.Header }

func (d *discardAnswer) Header() http.Header         { return d.header }
func (d *discardAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardAnswer) WriteHeader(int)             {}
