// Package buildinfo says which build of the dispatcher is running: its version, the VCS
// revision it was built from and the Go release that built it.
//
// The version is, in order: what the build set with
//
//	go build -ldflags "-X github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo.version=v1.2.3"
//
// (images do, having no repository to read), else the main module's version that the Go
// toolchain records (a tag, or a pseudo-version from the revision), else "dev". A build from
// a work tree with uncommitted changes gets "+dirty".
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at link time; empty means "read the build's VCS information".
var version string

// Info describes a build.
type Info struct {
	// Version is the release or pseudo-version ("v1.2.3", "v0.0.0-20260101120000-abcdef123456",
	// "dev"), with "+dirty" for a build of a modified work tree.
	Version string
	// Revision is the VCS commit (empty when unknown); Time its commit time (RFC 3339).
	Revision string
	Time     string
	// Modified: the work tree had uncommitted changes.
	Modified bool
	// GoVersion is the Go release that built the binary.
	GoVersion string
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(version, bi)
}

// fromBuild makes the Info of a build whose link-time version is linked (maybe empty) and
// whose recorded information is bi (maybe nil).
func fromBuild(linked string, bi *debug.BuildInfo) Info {
	info := Info{GoVersion: runtime.Version()}
	module := ""
	if bi != nil {
		info.GoVersion = bi.GoVersion
		module = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	switch {
	case linked != "":
		info.Version = linked
	case module != "" && module != "(devel)":
		info.Version = module
	case info.Revision != "":
		info.Version = "dev-" + short(info.Revision)
	default:
		info.Version = "dev"
	}
	if info.Modified && !strings.Contains(info.Version, "dirty") {
		info.Version += "+dirty"
	}
	return info
}

// String is the one-line description `dispatcher version` prints: the version, then the
// revision, its time and the Go release when known.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	var extra []string
	if i.Revision != "" {
		extra = append(extra, "revision "+short(i.Revision))
	}
	if i.Time != "" {
		extra = append(extra, i.Time)
	}
	if i.GoVersion != "" {
		extra = append(extra, i.GoVersion)
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// LogAttrs are the build's attributes for a start-up log line.
func (i Info) LogAttrs() []any {
	return []any{"version", i.Version, "revision", i.Revision, "go", i.GoVersion}
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
