//go:build !unix

package session

import "io/fs"

func checkOwner(fs.FileInfo) error { return nil }
