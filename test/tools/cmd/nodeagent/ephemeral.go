package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// startEphemeral reports the ephemeral containers (kubectl debug, kgate
// debug) of a running pod as running, as the kubelet would once it started
// them: kwok's stages never set ephemeralContainerStatuses. exec and attach
// already serve any container of the pod spec.
func (a *agent) startEphemeral(p *v1.Pod) {
	if len(p.Spec.EphemeralContainers) == 0 {
		return
	}
	have := map[string]bool{}
	for _, s := range p.Status.EphemeralContainerStatuses {
		have[s.Name] = true
	}
	statuses := append([]v1.ContainerStatus(nil), p.Status.EphemeralContainerStatuses...)
	now := metav1.NewTime(time.Now())
	added := false
	for _, c := range p.Spec.EphemeralContainers {
		if have[c.Name] {
			continue
		}
		added = true
		statuses = append(statuses, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), Ready: false, Started: ptrTo(true),
			ContainerID: containerID(p.UID, c.Name),
			State:       v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}},
		})
	}
	if !added {
		return
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"ephemeralContainerStatuses": statuses}})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.cs.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		klog.ErrorS(err, "reporting ephemeral containers as running", "pod", klog.KObj(p))
	}
}

func ptrTo[T any](v T) *T { return &v }

// containerID is the ID a container of pod uid gets, as the project's kwok
// stages (test/env/kwok-pod-stages.yaml) give it: containerd:// and the
// sha256 of "UID/NAME", so every status of it names the same container.
func containerID(uid types.UID, name string) string {
	sum := sha256.Sum256([]byte(string(uid) + "/" + name))
	return "containerd://" + hex.EncodeToString(sum[:])
}

// imageID is REPOSITORY@sha256:<hex of the image reference>, docker.io's
// library for a bare name, as the kwok stages write it.
func imageID(image string) string {
	repo := image
	if i := strings.LastIndex(repo, ":"); i >= 0 && !strings.ContainsAny(repo[i+1:], "/@") {
		repo = repo[:i]
	}
	if !strings.Contains(repo, "/") {
		repo = "docker.io/library/" + repo
	}
	sum := sha256.Sum256([]byte(image))
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}
