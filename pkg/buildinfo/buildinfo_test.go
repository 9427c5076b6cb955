package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuild(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: modified}}}
	}
	tagged := vcs("0123456789abcdef0123", "false")
	tagged.Main.Version = "v1.2.3"
	pseudoDirty := vcs("0123456789abcdef0123", "true")
	pseudoDirty.Main.Version = "v0.0.0-20261201100000-0123456789ab+dirty"
	cases := []struct {
		name, linked string
		bi           *debug.BuildInfo
		want         Info
		text         string
	}{
		{"linked wins", "v9.9.9", tagged, Info{Version: "v9.9.9", Revision: "0123456789abcdef0123", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.99"},
			"v9.9.9 (revision 0123456789ab, 2026-12-01T10:00:00Z, go1.99)"},
		{"module tag", "", tagged, Info{Version: "v1.2.3", Revision: "0123456789abcdef0123", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.99"}, ""},
		{"pseudo-version already dirty", "", pseudoDirty, Info{Version: "v0.0.0-20261201100000-0123456789ab+dirty",
			Revision: "0123456789abcdef0123", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.99"}, ""},
		{"devel with a revision, modified", "", vcs("abcdef", "true"), Info{Version: "dev-abcdef+dirty", Revision: "abcdef",
			Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.99"}, ""},
		{"image without VCS", "v2.0.0", &debug.BuildInfo{GoVersion: "go1.99"}, Info{Version: "v2.0.0", GoVersion: "go1.99"}, "v2.0.0 (go1.99)"},
		{"nothing known", "", &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}}, Info{Version: "dev", GoVersion: "go1.99"}, "dev (go1.99)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := fromBuild(tc.linked, tc.bi)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.text != "" && got.String() != tc.text {
				t.Errorf("String() = %q, want %q", got.String(), tc.text)
			}
		})
	}
}
