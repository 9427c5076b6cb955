package worker

import "time"

// reapGate decides when the reaper may hand back expired leases. While the job store is
// unreachable nobody can renew a lease, so after an outage longer than the lease every
// running job's lease has expired, its owner alive or not. The reaper therefore waits until
// it has seen the store reachable for one whole lease (the live owners renew every third of
// it) before it reclaims anything; otherwise it would hand running jobs to a second worker,
// and both attempts would run, upload included. The same grace applies when the process
// starts, since it cannot tell whether an outage just ended.
type reapGate struct {
	lease   time.Duration
	upSince time.Time // zero: the store was unreachable at the last look
}

// allow records whether the store was reachable at now and reports whether the reaper may
// reclaim.
func (g *reapGate) allow(now time.Time, reachable bool) bool {
	if !reachable {
		g.upSince = time.Time{}
		return false
	}
	if g.upSince.IsZero() {
		g.upSince = now
	}
	return now.Sub(g.upSince) >= g.lease
}
