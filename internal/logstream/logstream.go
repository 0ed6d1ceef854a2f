// Package logstream reads the logs of one pod or many, as `kgate logs` prints
// them: one container copied straight through, or many at once, each line
// prefixed with its pod and container, pods picked up and dropped while
// following, and a broken follow resumed where it stopped with no line
// repeated or lost. It knows nothing of the command line: a Config in, lines
// out (stern's engine is the model).
package logstream

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/cmd/util/podcmd"

	"github.com/kgate/kgate/internal/errs"
)

// Prefix says when lines are prefixed with [pod/NAME/CONTAINER].
type Prefix int

const (
	// PrefixAuto prefixes the lines of several streams, not those of one.
	PrefixAuto Prefix = iota
	// PrefixOn always prefixes.
	PrefixOn
	// PrefixOff never prefixes.
	PrefixOff
)

// DefaultResumeWindow is how long a broken follow keeps trying to resume.
const DefaultResumeWindow = 2 * time.Minute

// Config is what to read and how to print it.
type Config struct {
	Namespace string
	// Pod names one pod to read; when empty, Selector picks the pods.
	Pod string
	// Selector is a label selector ("" for every pod of the namespace).
	Selector string

	// Container is the one to read; empty means the pod's default one
	// (its kubectl.kubernetes.io/default-container annotation, else the
	// first), unless AllContainers.
	Container     string
	AllContainers bool

	Follow     bool
	Previous   bool
	Timestamps bool
	// Tail is the number of recent lines to read; -1 means all.
	Tail int64
	// Since and SinceTime read only newer lines; zero means no limit.
	Since      time.Duration
	SinceTime  time.Time
	LimitBytes int64

	Prefix Prefix
	// Color colours each pod's prefix.
	Color bool
	// MaxLogRequests is the most streams followed at once.
	MaxLogRequests int
	// ResumeWindow is how long a broken follow keeps trying; zero means
	// DefaultResumeWindow.
	ResumeWindow time.Duration

	// Out receives the lines, ErrOut what kgate has to say about them.
	Out, ErrOut io.Writer
}

// Run reads the logs cfg asks for through cs until they end (or, when
// following, until ctx is done).
func Run(ctx context.Context, cs kubernetes.Interface, cfg Config) error {
	if cfg.MaxLogRequests < 1 {
		cfg.MaxLogRequests = 1
	}
	if cfg.ErrOut == nil {
		cfg.ErrOut = io.Discard
	}
	out := newOutput(cfg.Out, cfg.Color)
	c := &cfg

	// One pod: its containers.
	if cfg.Pod != "" {
		pod, err := cs.CoreV1().Pods(cfg.Namespace).Get(ctx, cfg.Pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		containers, err := c.containersOf(pod, true)
		if err != nil {
			return err
		}
		prefix := c.prefixFor(len(containers))
		if len(containers) == 1 && !prefix && !cfg.Follow {
			return copyOne(ctx, cs, pod, containers[0], c)
		}
		return newStreamer(cs, c, out, prefix).runPods(ctx, []corev1.Pod{*pod})
	}

	// Many pods: a workload's or a selector's.
	s := newStreamer(cs, c, out, c.prefixFor(2))
	if cfg.Follow {
		return s.follow(ctx, cfg.Namespace, cfg.Selector)
	}
	pods, err := cs.CoreV1().Pods(cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: cfg.Selector})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		fmt.Fprintf(cfg.ErrOut, "No resources found in %s namespace.\n", cfg.Namespace)
		return nil
	}
	return s.runPods(ctx, pods.Items)
}

// prefixFor reports whether lines of n streams are prefixed.
func (c *Config) prefixFor(n int) bool {
	switch c.Prefix {
	case PrefixOn:
		return true
	case PrefixOff:
		return false
	}
	return n > 1
}

// podOptions are the log options of the first request of a stream.
func (c *Config) podOptions(container string) *corev1.PodLogOptions {
	po := &corev1.PodLogOptions{
		Container: container, Follow: c.Follow, Previous: c.Previous,
		Timestamps: true,
	}
	if !c.SinceTime.IsZero() {
		t := metav1.NewTime(c.SinceTime)
		po.SinceTime = &t
	}
	if c.Tail >= 0 {
		t := c.Tail
		po.TailLines = &t
	}
	if c.Since > 0 {
		s := int64(c.Since.Round(time.Second).Seconds())
		if s == 0 {
			s = 1
		}
		po.SinceSeconds = &s
	}
	if c.LimitBytes > 0 {
		l := c.LimitBytes
		po.LimitBytes = &l
	}
	return po
}

// containersOf returns the containers to read of pod. explicit reports
// whether the pod was named (then kgate says which container it defaulted to).
func (c *Config) containersOf(pod *corev1.Pod, explicit bool) ([]string, error) {
	if c.AllContainers {
		var n []string
		for _, ic := range pod.Spec.InitContainers {
			if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				n = append(n, ic.Name) // sidecars
			}
		}
		for _, pc := range pod.Spec.Containers {
			n = append(n, pc.Name)
		}
		return n, nil
	}
	if c.Container != "" {
		for _, pc := range append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...) {
			if pc.Name == c.Container {
				return []string{pc.Name}, nil
			}
		}
		return nil, errs.NotFoundErrorf("container %q not found in pod %q; its containers are: %s", c.Container, pod.Name, podcmd.AllContainerNames(pod))
	}
	if d := pod.Annotations[podcmd.DefaultContainerAnnotationName]; d != "" {
		for _, pc := range pod.Spec.Containers {
			if pc.Name == d {
				return []string{d}, nil
			}
		}
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %q has no containers", pod.Name)
	}
	first := pod.Spec.Containers[0].Name
	if explicit && len(pod.Spec.Containers) > 1 {
		fmt.Fprintf(c.ErrOut, "Defaulted container %q out of: %s\n", first, podcmd.AllContainerNames(pod))
	}
	return []string{first}, nil
}
