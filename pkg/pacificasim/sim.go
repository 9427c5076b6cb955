package pacificasim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Default delays of Config.
const (
	DefaultStagingDelay    = 100 * time.Millisecond
	DefaultIngestStepDelay = 20 * time.Millisecond
)

// DefaultUser is the user of notifications requests without an Http-Remote-User header, as
// Pacifica's notifications service configures it.
const DefaultUser = "default_user"

// Config configures a simulator. The zero value is usable.
type Config struct {
	// DataDir holds the archived files. Empty: a temporary directory, removed by Close.
	DataDir string
	// Logger receives the simulator's logs; nil discards them.
	Logger *slog.Logger
	// StagingDelay is how long a new cart stays "staging" before it is checked and becomes
	// "ready" (or "error"). Zero means DefaultStagingDelay; negative means no delay.
	StagingDelay time.Duration
	// IngestStepDelay is the time between the tasks of an ingest job. Zero means
	// DefaultIngestStepDelay; negative means no delay.
	IngestStepDelay time.Duration
	// Now is the clock of timestamps (job states, transactions, events, subscriptions).
	// Nil means time.Now. Delays always use real time.
	Now func() time.Time
	// HTTPClient delivers events to subscribers. Nil means a client without a time limit,
	// as Pacifica's notifications service has none.
	HTTPClient *http.Client
	// IngestPolicy decides the "Policy Validation" task of uploads. Nil accepts any value,
	// including absent fields and the sample event's -1.
	IngestPolicy IngestPolicy
	// AdminUsers are the notifications users whose subscriptions may receive every event
	// type. Every other user only receives org.pacifica.metadata.ingest events, as
	// Pacifica's policy service rules for non-administrators.
	AdminUsers []string
	// DefaultUser replaces a missing Http-Remote-User header. Empty means DefaultUser.
	DefaultUser string
}

// Sim is a simulated Pacifica site. Its methods are safe for concurrent use.
type Sim struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client
	dataDir string
	ownDir  bool

	ctx    context.Context // ends with Close; background work runs under it
	cancel context.CancelFunc
	bgMu   sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced when jobs, events or deliveries change
	archive      map[int64]*archivedFile
	nextFileID   int64
	nextJobID    int64
	jobs         map[int64]*JobState
	txs          map[int64]*Transaction
	txOrder      []int64
	carts        map[string]*cart
	subs         map[string]*subscription
	subOrder     []string
	events       []Event
	deliveries   []Delivery
	faults       map[string]*faultState
	cartOverride CartOverride
	serveOnce    bool
	bound        chan struct{}
	boundAddrs   Addrs
}

// New builds a simulator. Close it to stop its background work and remove its temporary
// data directory.
func New(cfg Config) (*Sim, error) {
	if cfg.StagingDelay == 0 {
		cfg.StagingDelay = DefaultStagingDelay
	}
	if cfg.IngestStepDelay == 0 {
		cfg.IngestStepDelay = DefaultIngestStepDelay
	}
	if cfg.DefaultUser == "" {
		cfg.DefaultUser = DefaultUser
	}
	s := &Sim{
		cfg:        cfg,
		log:        cfg.Logger,
		now:        cfg.Now,
		client:     cfg.HTTPClient,
		dataDir:    cfg.DataDir,
		changed:    make(chan struct{}),
		archive:    map[int64]*archivedFile{},
		nextFileID: 1,
		nextJobID:  1,
		jobs:       map[int64]*JobState{},
		txs:        map[int64]*Transaction{},
		carts:      map[string]*cart{},
		subs:       map[string]*subscription{},
		faults:     map[string]*faultState{},
		bound:      make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.dataDir == "" {
		dir, err := os.MkdirTemp("", "pacifica-sim-")
		if err != nil {
			return nil, fmt.Errorf("pacificasim: data directory: %w", err)
		}
		s.dataDir, s.ownDir = dir, true
	}
	for _, sub := range []string{archiveDir, stagingDir} {
		if err := os.MkdirAll(filepath.Join(s.dataDir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("pacificasim: data directory: %w", err)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops the background work (staging carts, ingest jobs, deliveries), waits for it,
// and removes the data directory if New created it. Handlers keep answering from memory.
func (s *Sim) Close() error {
	s.bgMu.Lock()
	if s.closed {
		s.bgMu.Unlock()
		return nil
	}
	s.closed = true
	s.bgMu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.ownDir {
		if err := os.RemoveAll(s.dataDir); err != nil {
			return fmt.Errorf("pacificasim: remove data directory: %w", err)
		}
	}
	return nil
}

// DataDir returns the directory that holds the archived files.
func (s *Sim) DataDir() string { return s.dataDir }

// goBackground runs f under the simulator's lifetime, unless Close has begun. It may be
// called with s.mu held.
func (s *Sim) goBackground(f func(ctx context.Context)) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
	return true
}

// notifyLocked wakes the waiters of WaitDeliveries and friends. s.mu must be held.
func (s *Sim) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor polls cond, under s.mu, each time the state changes, until it holds or ctx ends.
func (s *Sim) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends, reporting whether the whole delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
