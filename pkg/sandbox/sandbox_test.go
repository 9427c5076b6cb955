//go:build linux

package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The switch: bwrap refuses to start without a working bubblewrap, auto falls back and
// says why, off is off.
func TestModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := New(ctx, Config{Mode: ModeBwrap, Bwrap: "/no/such/bwrap"}); err == nil ||
		!strings.Contains(err.Error(), "SANDBOX=auto") {
		t.Errorf("bwrap without bubblewrap: %v, want an error that names the way out", err)
	}
	sb, err := New(ctx, Config{Mode: ModeAuto, Bwrap: "/no/such/bwrap"})
	if err != nil || sb.Enabled() || !strings.Contains(sb.Reason(), "/no/such/bwrap") || !strings.HasPrefix(sb.Describe(), "off: ") {
		t.Errorf("auto without bubblewrap: %v enabled=%v reason=%q", err, sb.Enabled(), sb.Reason())
	}
	sb, err = New(ctx, Config{Mode: ModeOff})
	if err != nil || sb.Enabled() || sb.Reason() != "SANDBOX=off" {
		t.Errorf("off: %v %v %q", err, sb.Enabled(), sb.Reason())
	}
	if _, err := New(ctx, Config{Mode: "docker"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
	sb, err = New(ctx, Config{Mode: ModeAuto})
	if err != nil || !sb.Enabled() {
		t.Fatalf("auto with bubblewrap installed (apt-get install bubblewrap): %v %q", err, sb.Reason())
	}
	var nilSandbox *Sandbox
	if nilSandbox.Enabled() || nilSandbox.Limits() != (Limits{}) {
		t.Error("a nil sandbox must be off, without limits")
	}
}

func TestExitLimitAndHint(t *testing.T) {
	t.Parallel()
	sb := &Sandbox{cfg: Config{Limits: Limits{CPUTime: time.Minute, Memory: 1 << 30, Processes: 10, FileSize: 1 << 20}}}
	if l := sb.ExitLimit(128 + 24); l == nil || l.Limit != "CPU time" {
		t.Errorf("SIGXCPU: %v", l)
	}
	if l := sb.ExitLimit(128 + 25); l == nil || l.Limit != "file size" || !strings.Contains(l.Error(), "1 MiB") {
		t.Errorf("SIGXFSZ: %v", l)
	}
	if l := sb.ExitLimit(1); l != nil {
		t.Errorf("exit 1: %v", l)
	}
	for tail, want := range map[string]string{
		"Traceback...\nMemoryError":                           "memory limit (1 GiB",
		"bash: fork: retry: Resource temporarily unavailable": "process limit (10",
		"head: error writing 'big': File too large":           "file size limit (1 MiB)",
		"ValueError: nope":                                    "",
	} {
		if got := sb.Hint(tail); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("Hint(%q) = %q, want %q", tail, got, want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 4 << 30: "4 GiB", 32 << 30: "32 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
