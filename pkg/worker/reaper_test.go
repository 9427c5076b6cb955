package worker

import (
	"testing"
	"time"
)

func TestReapGateWaitsOneLeaseAfterTheStoreIsBack(t *testing.T) {
	const lease = 3 * time.Second
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	g := &reapGate{lease: lease}
	steps := []struct {
		at        time.Duration
		reachable bool
		want      bool
		why       string
	}{
		{0, true, false, "just started: the owners may not have renewed since an outage"},
		{lease / 2, true, false, "half a lease up"},
		{lease, true, true, "a whole lease up: every live owner has renewed"},
		{3 * lease / 2, true, true, "still up"},
		{2 * lease, false, false, "the store is unreachable"},
		{6 * lease, false, false, "a long outage: every lease expired meanwhile"},
		{13 * lease / 2, true, false, "back: the owners have not renewed yet"},
		{7 * lease, true, false, "back for half a lease"},
		{15 * lease / 2, true, true, "back for a whole lease"},
		{8 * lease, false, false, "down again"},
		{17 * lease / 2, true, false, "back again: the grace starts over"},
	}
	for _, s := range steps {
		if got := g.allow(t0.Add(s.at), s.reachable); got != s.want {
			t.Errorf("at %s (reachable %v, %s): allow = %v, want %v", s.at, s.reachable, s.why, got, s.want)
		}
	}
}
