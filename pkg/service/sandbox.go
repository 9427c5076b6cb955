package service

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
)

// NewSandbox builds the sandbox of the workers' children from the configuration: with
// SANDBOX=bwrap it fails when bubblewrap does not work here; with auto it may come back
// disabled (see Sandbox.Reason). The dispatcher's configuration and secret files are hidden
// from it.
func NewSandbox(ctx context.Context, c Config) (*sandbox.Sandbox, error) {
	uid, gid, _ := c.sandboxUser()
	hide := append([]string{c.ScriptConfig, c.Cert, c.Key}, c.SecretFiles...)
	return sandbox.New(ctx, sandbox.Config{
		Mode: c.Sandbox, UID: uid, GID: gid, ReadOnly: c.SandboxBind, Hide: hide,
		Limits: sandbox.Limits{
			CPUTime: c.SandboxCPUTime, Memory: int64(c.SandboxMemory), Processes: c.SandboxProcesses,
			FileSize: int64(c.SandboxFileSize), Disk: int64(c.SandboxDisk),
		},
	})
}

// Sandbox returns the workers' sandbox (nil for a receiver).
func (s *Service) Sandbox() *sandbox.Sandbox { return s.sandbox }

// logSandbox says at start how the workers' children are confined, and warns when they
// are not.
func (s *Service) logSandbox() {
	if s.sandbox == nil {
		return
	}
	if s.sandbox.Enabled() {
		l := s.sandbox.Limits()
		s.log.Info("models and scripts run sandboxed", "sandbox", s.sandbox.Describe(),
			"cpu_time", l.CPUTime.String(), "memory", sandbox.FormatBytes(l.Memory), "processes", l.Processes,
			"file_size", sandbox.FormatBytes(l.FileSize), "disk", sandbox.FormatBytes(l.Disk))
		return
	}
	s.log.Warn("models and scripts run WITHOUT a sandbox: uploaded code runs with this worker's rights "+
		"(its files, its network, its user's processes)", "reason", s.sandbox.Reason())
}

// sandboxGauge is dispatcher_sandbox_enabled.
func sandboxGauge(sb *sandbox.Sandbox) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "dispatcher_sandbox_enabled",
		Help: "1 when this worker runs models and scripts in bubblewrap, 0 when they run unconfined (SANDBOX=auto without bubblewrap, or off).",
	})
	if sb.Enabled() {
		g.Set(1)
	}
	return g
}
