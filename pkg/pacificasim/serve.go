package pacificasim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Addrs are the listen addresses (host:port) of the four services. Port 0 picks a free
// port; an empty address leaves the service off.
type Addrs struct {
	Cartd         string
	Ingest        string
	Notifications string
	Metadata      string
}

// DefaultAddrs are Pacifica's own ports, on loopback.
var DefaultAddrs = Addrs{
	Cartd:         "127.0.0.1:8081",
	Ingest:        "127.0.0.1:8066",
	Notifications: "127.0.0.1:8070",
	Metadata:      "127.0.0.1:8121",
}

// shutdownGrace is how long Serve lets requests in flight finish once its context ends.
const shutdownGrace = 5 * time.Second

// Serve listens on the addresses and serves the four services until ctx ends, then shuts
// them down: requests in flight get a few seconds to finish. It returns nil after a clean
// shutdown. A simulator serves once; Addrs tells the bound addresses.
func (s *Sim) Serve(ctx context.Context, a Addrs) error {
	s.mu.Lock()
	if s.serveOnce {
		s.mu.Unlock()
		return errors.New("pacificasim: Serve called twice")
	}
	s.serveOnce = true
	s.mu.Unlock()

	type service struct {
		name string
		addr *string
		h    http.Handler
	}
	bound := a
	all := []service{
		{ServiceCartd, &bound.Cartd, s.CartdHandler()},
		{ServiceIngest, &bound.Ingest, s.IngestHandler()},
		{ServiceNotifications, &bound.Notifications, s.NotificationsHandler()},
		{ServiceMetadata, &bound.Metadata, s.MetadataHandler()},
	}
	var lc net.ListenConfig
	var listeners []net.Listener
	var servers []*http.Server
	for _, sv := range all {
		if *sv.addr == "" {
			continue
		}
		l, err := lc.Listen(ctx, "tcp", *sv.addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return fmt.Errorf("pacificasim: listen %s on %s: %w", sv.name, *sv.addr, err)
		}
		*sv.addr = l.Addr().String()
		listeners = append(listeners, l)
		servers = append(servers, &http.Server{Handler: sv.h, ReadHeaderTimeout: 10 * time.Second})
		s.log.Info("serving", "service", sv.name, "addr", *sv.addr)
	}
	s.mu.Lock()
	s.boundAddrs = bound
	close(s.bound)
	s.mu.Unlock()

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	var firstErr error
	select {
	case <-ctx.Done():
	case err := <-errc: // a server stopped on its own
		firstErr = fmt.Errorf("pacificasim: serve: %w", err)
		errc <- nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && firstErr == nil {
			firstErr = fmt.Errorf("pacificasim: serve: %w", err)
		}
	}
	return firstErr
}

// Addrs waits until Serve has bound its listeners and returns their addresses, ports
// chosen; ctx bounds the wait.
func (s *Sim) Addrs(ctx context.Context) (Addrs, error) {
	select {
	case <-s.bound:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.boundAddrs, nil
	case <-ctx.Done():
		return Addrs{}, ctx.Err()
	}
}

// URLs returns the base URLs of bound addresses: "http://" + address, "" for a service
// that is off.
func (a Addrs) URLs() Addrs {
	u := func(s string) string {
		if s == "" {
			return ""
		}
		return "http://" + s
	}
	return Addrs{Cartd: u(a.Cartd), Ingest: u(a.Ingest), Notifications: u(a.Notifications), Metadata: u(a.Metadata)}
}
