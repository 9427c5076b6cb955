package main

import (
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, n := range v {
		out[i] = time.Duration(n) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 ms down to 1 ms: unsorted on purpose
	}
	for _, tc := range []struct {
		name string
		lat  []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, .5, 0},
		{"one value is every percentile", ms(7), .99, 7 * time.Millisecond},
		{"median of four is the second", ms(4, 1, 3, 2), .5, 2 * time.Millisecond},
		{"p95 of four is the largest", ms(4, 1, 3, 2), .95, 4 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), .50, 50 * time.Millisecond},
		{"p95 of 1..100", ms(hundred...), .95, 95 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), .99, 99 * time.Millisecond},
		{"p100 is the largest", ms(hundred...), 1, 100 * time.Millisecond},
		{"tiny p is the smallest", ms(5, 9, 1), .001, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.lat, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1GiB", want: 1 << 30},
		{in: "64MiB", want: 64 << 20},
		{in: "1.5 GiB", want: 3 << 29},
		{in: "512K", want: 512 << 10},
		{in: "4096", want: 4096},
		{in: "10B", want: 10},
		{in: "1GB", bad: true},
		{in: "GiB", bad: true},
		{in: "-1MiB", bad: true},
	} {
		got, err := parseSize(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtSize(1 << 30), "1 GiB"},
		{fmtSize(64 << 20), "64 MiB"},
		{fmtSize(3 << 29), "1536 MiB"},
		{fmtSize(1<<20 + 1<<19), "1.5 MiB"},
		{fmtSize(4353), "4353 B"},
		{fmtMiB(31 << 20), "31.0 MiB"},
		{fmtRate(4272.4, "rows"), "4272 rows/s"},
		{fmtRate(4.84, "jobs"), "4.8 jobs/s"},
		{fmtDuration(578 * time.Microsecond), "578µs"},
		{fmtDuration(4054 * time.Microsecond), "4.05ms"},
		{fmtDuration(111_940 * time.Microsecond), "111.9ms"},
		{fmtDuration(1214 * time.Millisecond), "1.21s"},
		{fmtLatency(nil, .5), "-"},
		{plural(1, "worker"), "1 worker"},
		{plural(2, "worker"), "2 workers"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestParseLevels(t *testing.T) {
	got, err := parseLevels("1, 16,64")
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 16 || got[2] != 64 {
		t.Fatalf("parseLevels = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "4,x", "-2"} {
		if _, err := parseLevels(bad); err == nil {
			t.Errorf("parseLevels(%q): want an error", bad)
		}
	}
}
