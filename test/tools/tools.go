//go:build tools

// Package tools pins the Kubernetes components the local environment runs.
// They are built from the Go module proxy at exactly this module's versions,
// never downloaded as prebuilt binaries.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
