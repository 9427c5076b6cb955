package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// percentile returns the p-th quantile (0 < p <= 1) of the durations by the nearest-rank
// method: the smallest value with at least p of the values at or below it. It sorts lat
// in place. An empty slice gives 0.
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	if !slices.IsSorted(lat) {
		slices.Sort(lat)
	}
	rank := int(math.Ceil(p * float64(len(lat))))
	return lat[min(max(rank, 1), len(lat))-1]
}

// fmtLatency prints a latency with three significant figures or so; "-" for none.
func fmtLatency(lat []time.Duration, p float64) string {
	if len(lat) == 0 {
		return "-"
	}
	return fmtDuration(percentile(lat, p))
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// fmtMiB prints a byte count in MiB with one decimal.
func fmtMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// fmtRate prints a rate per second: no decimals from 100 up, one below.
func fmtRate(r float64, unit string) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f %s/s", r, unit)
	}
	return fmt.Sprintf("%.1f %s/s", r, unit)
}

// parseSize reads a byte size: a number with an optional unit B, KiB, MiB or GiB (also
// K, M, G, which are the same binary units).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 1GiB, 64MiB, 4096)", s)
	}
	mult := map[string]float64{"": 1, "B": 1, "K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20,
		"G": 1 << 30, "GiB": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KiB, MiB or GiB)", s, unit)
	}
	return int64(v * mult), nil
}

// fmtSize prints a byte count with the largest binary unit that keeps it whole, else MiB.
func fmtSize(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b >= 1<<20:
		return fmtMiB(b)
	default:
		return fmt.Sprintf("%d B", b)
	}
}

// parseLevels reads a comma-separated list of positive integers.
func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// plural prints n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
