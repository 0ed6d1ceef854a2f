// Package build holds what the release build stamps into the binary.
package build

// Version, Commit and Date are set with -ldflags "-X ..." by the Makefile and goreleaser.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)
