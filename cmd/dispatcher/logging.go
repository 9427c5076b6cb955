package main

import (
	"io"
	"log/slog"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// startLogger returns the logger of a command that logs (LOG_FORMAT, LOG_LEVEL), after
// logging which build runs it.
func startLogger(cfg service.Config, w io.Writer, cmd string) *slog.Logger {
	log := service.NewLogger(cfg, w)
	log.Info("dispatcher "+cmd+" starting", buildinfo.Get().LogAttrs()...)
	return log
}
