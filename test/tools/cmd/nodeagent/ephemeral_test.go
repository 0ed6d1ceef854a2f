package main

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

// The agent names ephemeral containers as the kwok stages name the others.
func TestKubeletLikeIDs(t *testing.T) {
	sum := sha256.Sum256([]byte("0b5c-uid/dbg"))
	if got, want := containerID("0b5c-uid", "dbg"), "containerd://"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("containerID %q, want %q", got, want)
	}
	re := regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)
	for image, repo := range map[string]string{
		"busybox:1.36":                    "docker.io/library/busybox",
		"busybox":                         "docker.io/library/busybox",
		"registry.example.com/app:1":      "registry.example.com/app",
		"127.0.0.1:5000/tools/debug:v1.2": "127.0.0.1:5000/tools/debug",
		"127.0.0.1:5000/tools/debug":      "127.0.0.1:5000/tools/debug",
	} {
		got := imageID(image)
		if !re.MatchString(got) || got[:len(repo)+1] != repo+"@" {
			t.Errorf("imageID(%q) = %q, want %s@sha256:…", image, got, repo)
		}
	}
}
