// Package build holds what the release build stamps into the binary.
package build

import "runtime/debug"

// Version, Commit and Date are set with -ldflags "-X ..." by the Makefile and
// goreleaser.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// Get returns the version, commit and date. A `go install ...@version` build
// has no ldflags; it reports the module version and the VCS data Go recorded.
func Get() (version, commit, date string) {
	version, commit, date = Version, Commit, Date
	if version != "dev" {
		return
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if commit == "none" && len(s.Value) >= 7 {
				commit = s.Value[:7]
			}
		case "vcs.time":
			if date == "unknown" {
				date = s.Value
			}
		}
	}
	return
}
