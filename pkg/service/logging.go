package service

import (
	"io"
	"log/slog"
)

// NewLogger returns the logger the configuration asks for (LOG_LEVEL, LOG_FORMAT), writing
// to w. Durations are written as Go duration strings ("30s", "1h0m0s") in both formats,
// at any depth of groups, rather than as JSON's bare nanoseconds.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDurations}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// readableDurations is a slog ReplaceAttr: a time.Duration value becomes its String().
// slog calls it for every attribute that is not a group, with the groups it is nested in.
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
