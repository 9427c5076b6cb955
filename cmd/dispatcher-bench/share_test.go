package main

import (
	"testing"
	"time"
)

func TestParseMachineBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, irq, err := parseMachineBusy("cpu  100 2 30 5000 40 1 6 7 50 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := (100 + 2 + 30 + 1 + 6 + 7) * clockTick; got != want {
		t.Fatalf("busy %s, want %s (idle, iowait and guest left out)", got, want)
	}
	if want := (1 + 6) * clockTick; irq != want {
		t.Fatalf("interrupts %s, want %s", irq, want)
	}
	if _, _, err := parseMachineBusy("intr 1 2 3"); err == nil {
		t.Fatal("a line that is not the cpu line was read")
	}
}

func TestMetricValue(t *testing.T) {
	text := []byte("# HELP x_total things\n# TYPE x_total counter\nx_total_other 9\nx_total 42\ny{a=\"b\"} 1\n")
	v, err := metricValue(text, "x_total")
	if err != nil || v != 42 {
		t.Fatalf("x_total = %v, %v; want 42", v, err)
	}
	if _, err := metricValue(text, "z"); err == nil {
		t.Fatal("a missing metric was found")
	}
}

func TestCommandName(t *testing.T) {
	if got := commandName([]byte("12 (beam.smp) S 1 2 3")); got != "beam.smp" {
		t.Fatalf("got %q", got)
	}
	if got := commandName([]byte("12 (a) b) S 1")); got != "a) b" {
		t.Fatalf("got %q", got)
	}
	if got := parentPID([]byte("77 (kworker/0:1-events) I 2 0 0")); got != "2" {
		t.Fatalf("parent %q, want 2", got)
	}
}

func TestReadCPUShareCountsThisProcess(t *testing.T) {
	s0, err := readCPUShare()
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	s1, err := readCPUShare()
	if err != nil {
		t.Fatal(err)
	}
	d := s1.sub(s0)
	if d.bench <= 0 || d.busy < d.bench {
		t.Fatalf("after 200 ms of spinning: bench %s, machine busy %s", d.bench, d.busy)
	}
}
