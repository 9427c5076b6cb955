package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo"
)

// runVersion prints the build's version, VCS revision and time, and Go release.
func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher version")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Prints the version of this build (a release tag, or a pseudo-version from the VCS")
		fmt.Fprintln(fs.Output(), "revision, with +dirty for a build of a modified work tree), the revision, its time")
		fmt.Fprintln(fs.Output(), "and the Go release. Images set the version at build time (the VERSION build argument).")
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "version: unexpected argument %q\n", pos[0])
		return 2
	}
	fmt.Fprintln(stdout, "dispatcher", buildinfo.Get())
	return 0
}
