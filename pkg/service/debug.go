package service

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// listenDebug opens DEBUG_LISTEN_ADDR, when it is set, and returns the server of Go's
// profiler on it: its own listener and its own mux, never the main one (whose routes are
// described, authenticated and counted). Nil when the setting is empty. The start-up
// warning is AccessSummary's.
func (s *Service) listenDebug() (*http.Server, net.Listener, error) {
	if s.cfg.DebugListenAddr == "" {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.DebugListenAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on DEBUG_LISTEN_ADDR %s: %w", s.cfg.DebugListenAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return srv, ln, nil
}
