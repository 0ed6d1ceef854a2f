// Package cp implements `kgate cp`: files and directories to and from a
// container, as a tar stream through exec, as kubectl cp does.
package cp

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/kubectl/pkg/cmd/util/podcmd"
	utilexec "k8s.io/utils/exec"

	execcmd "github.com/kgate/kgate/internal/cmd/exec"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Options are what `kgate cp` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	Access     *enforce.Access
	Executor   execcmd.RemoteExecutor

	Src, Dest  string
	Container  string
	NoPreserve bool
	Transport  string
}

// NewCmdCp returns `kgate cp`; runF replaces the run step in tests.
func NewCmdCp(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Namespace: f.Namespace, Access: f.Access(), Executor: execcmd.DefaultExecutor{}}
	cmd := &cobra.Command{
		Use:   "cp SRC DEST [-c CONTAINER]",
		Short: "Copy files and directories to and from containers (admins only)",
		Long: `Copy a file or a directory between this machine and a container, as kubectl
cp does: a remote path is [NAMESPACE/]POD:PATH, the other one is local. The
copy is a tar stream through exec, so the container needs tar.

An existing directory as DEST receives SRC inside it; otherwise DEST becomes
the copy. Entries of a remote archive that would land outside DEST are
refused. A missing SRC exits 5.`,
		Example: `  # a local file into a pod's /tmp
  kgate cp ./app.conf web-7d4b9c-abcde:/tmp/app.conf

  # a directory out of container app of a pod in another namespace
  kgate cp payments/web-7d4b9c-abcde:/var/log/app ./logs -c app`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errs.UsageErrorf("cp takes a source and a destination: kgate cp SRC DEST")
			}
			opts.Src, opts.Dest = args[0], args[1]
			if opts.Transport == "" {
				opts.Transport = os.Getenv("KGATE_EXEC_TRANSPORT")
			}
			if opts.Transport == "" {
				opts.Transport = execcmd.TransportAuto
			}
			if runF != nil {
				return runF(opts)
			}
			return cpRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Container, "container", "c", "", "Container name (default: the pod's default container)")
	fl.BoolVar(&opts.NoPreserve, "no-preserve", false, "Do not keep the ownership and permissions of the copied files in the container")
	return cmd
}

// Spec is one side of a copy: a local path, or a path in a pod.
type Spec struct {
	Namespace, Pod, Path string
}

// Remote reports whether the spec names a pod.
func (s Spec) Remote() bool { return s.Pod != "" }

// ParseSpec reads [NAMESPACE/]POD:PATH, or a local path (one without a colon
// before its first slash, so ./a:b and /x:y stay local).
func ParseSpec(arg string) (Spec, error) {
	i := strings.Index(arg, ":")
	if i < 0 || strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "/") || strings.Count(arg[:i], "/") > 1 {
		return Spec{Path: arg}, nil
	}
	if i == 0 {
		return Spec{}, errs.UsageErrorf("%q has no pod before the colon: [NAMESPACE/]POD:PATH", arg)
	}
	who, p := arg[:i], arg[i+1:]
	s := Spec{Path: p}
	if ns, pod, ok := strings.Cut(who, "/"); ok {
		s.Namespace, s.Pod = ns, pod
	} else {
		s.Pod = who
	}
	if s.Pod == "" || (strings.Contains(who, "/") && s.Namespace == "") {
		return Spec{}, errs.UsageErrorf("%q is not [NAMESPACE/]POD:PATH", arg)
	}
	if s.Path == "" {
		return Spec{}, errs.UsageErrorf("%q has an empty path", arg)
	}
	return s, nil
}

type copier struct {
	o         *Options
	client    *kube.Client
	pod       *corev1.Pod
	container string
}

func cpRun(ctx context.Context, o *Options) error {
	src, err := ParseSpec(o.Src)
	if err != nil {
		return err
	}
	dst, err := ParseSpec(o.Dest)
	if err != nil {
		return err
	}
	if src.Remote() == dst.Remote() {
		return errs.UsageErrorf("one of SRC and DEST must be [NAMESPACE/]POD:PATH and the other a local path")
	}
	remote := src
	if dst.Remote() {
		remote = dst
	}
	if remote.Namespace == "" {
		if remote.Namespace, _, err = o.Namespace(); err != nil {
			return err
		}
	}
	if !src.Remote() {
		// A local file that is not there needs no request at all.
		if _, err := os.Stat(src.Path); err != nil {
			return errs.NotFoundErrorf("%s: no such file or directory", src.Path)
		}
	}
	req := policy.Request{Verb: policy.VerbExec, Resource: "pods", Subresource: "exec", Namespace: remote.Namespace, Name: remote.Pod}
	if ctx, err = o.Access.Authorize(ctx, req, "cp", o.Src, o.Dest); err != nil {
		return err
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	pods, _ := kube.Lookup("pods")
	pod, err := client.AttachablePod(ctx, pods, remote.Namespace, remote.Pod, 0)
	if err != nil {
		return err
	}
	if pod.Status.Phase != corev1.PodRunning {
		return errs.UsageErrorf("pod %s is not running (its phase is %s)", pod.Name, pod.Status.Phase)
	}
	if o.Container != "" {
		if c, _ := podcmd.FindContainerByName(pod, o.Container); c == nil {
			return errs.NotFoundErrorf("container %q not found in pod %q", o.Container, pod.Name)
		}
	}
	c, err := podcmd.FindOrDefaultContainerByName(pod, o.Container, false, o.IO.ErrOut)
	if err != nil {
		return errs.NotFoundErrorf("%v", err)
	}
	cp := &copier{o: o, client: client, pod: pod, container: c.Name}
	if dst.Remote() {
		return cp.toPod(ctx, src.Path, dst.Path)
	}
	return cp.fromPod(ctx, src.Path, dst.Path)
}

// exec runs command in the container with stdin and stdout, keeping stderr
// for the error message.
func (c *copier) exec(ctx context.Context, command []string, stdin io.Reader, stdout io.Writer) (string, error) {
	req := c.client.REST().Post().AbsPath("/api/v1/namespaces", c.pod.Namespace, "pods", c.pod.Name, "exec").
		Param("container", c.container)
	for _, a := range command {
		req = req.Param("command", a)
	}
	req = req.Param("stdin", fmt.Sprint(stdin != nil)).Param("stdout", "true").Param("stderr", "true").Param("tty", "false")
	var stderr bytes.Buffer
	if stdout == nil {
		stdout = io.Discard
	}
	err := c.o.Executor.Execute(ctx, c.client.Config, c.o.Transport, req.URL(), remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: &stderr})
	return strings.TrimSpace(stderr.String()), c.explain(err, stderr.String())
}

// explain turns a failed remote tar into a message a user can act on.
func (c *copier) explain(err error, stderr string) error {
	if err == nil {
		return nil
	}
	var xe utilexec.ExitError
	if !errors.As(err, &xe) {
		return err
	}
	switch {
	case xe.ExitStatus() == 127 || strings.Contains(stderr, "executable file not found"):
		return errs.WithHint(fmt.Errorf("container %q of pod %q has no tar; kgate cp needs tar in the container", c.container, c.pod.Name),
			"Copy through a debug container that has tar: kgate debug "+c.pod.Name+" --image=busybox.")
	case strings.Contains(stderr, "No such file") || strings.Contains(stderr, "no such file"):
		return errs.NotFoundErrorf("%s", firstLine(stderr))
	}
	msg := firstLine(stderr)
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("tar in container %q of pod %q failed (exit %d): %s", c.container, c.pod.Name, xe.ExitStatus(), msg)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// toPod sends local (a file or a directory) to remote in the pod.
func (c *copier) toPod(ctx context.Context, local, remote string) error {
	remote = path.Clean(remote)
	dir, name := path.Dir(remote), path.Base(remote)
	// An existing directory receives the source inside it, as cp does.
	if _, err := c.exec(ctx, []string{"test", "-d", remote}, nil, nil); err == nil {
		dir, name = remote, filepath.Base(filepath.Clean(local))
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, local, name)) }()
	cmd := []string{"tar", "-xmf", "-", "-C", dir}
	if c.o.NoPreserve {
		cmd = []string{"tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-", "-C", dir}
	}
	_, err := c.exec(ctx, cmd, pr, nil)
	pr.Close()
	return err
}

// writeTar writes local as an archive whose top entry is name.
func writeTar(w io.Writer, local, name string) error {
	tw := tar.NewWriter(w)
	root := filepath.Clean(local)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		entry := path.Join(name, filepath.ToSlash(rel))
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = entry
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// fromPod fetches remote (a file or a directory) from the pod into local.
func (c *copier) fromPod(ctx context.Context, remote, local string) error {
	remote = path.Clean(remote)
	dir, name := path.Dir(remote), path.Base(remote)
	target := filepath.Clean(local)
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		target = filepath.Join(target, name)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := extractTar(pr, name, target)
		// tar pads its archive past the end marker: read it all, or the
		// remote tar blocks on a full pipe and never exits.
		_, _ = io.Copy(io.Discard, pr)
		done <- err
	}()
	_, err := c.exec(ctx, []string{"tar", "cf", "-", "-C", dir, name}, nil, pw)
	pw.CloseWithError(err)
	xerr := <-done
	if err != nil {
		return err
	}
	return xerr
}

// extractTar writes the entries of an archive whose top entry is name to
// target, refusing any that would land outside it.
func extractTar(r io.Reader, name, target string) error {
	tr := tar.NewReader(r)
	seen := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the archive from the container: %w", err)
		}
		rel := strings.TrimPrefix(path.Clean(h.Name), name)
		if rel != "" && !strings.HasPrefix(rel, "/") {
			continue
		}
		rel = strings.TrimPrefix(rel, "/")
		if !filepath.IsLocal(filepath.FromSlash(rel)) && rel != "" {
			return fmt.Errorf("refusing %q from the container: it would land outside %s", h.Name, target)
		}
		dst := filepath.Join(target, filepath.FromSlash(rel))
		seen = true
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			_ = os.Chtimes(dst, time.Now(), h.ModTime)
		case tar.TypeSymlink:
			// A link may point anywhere; it is kept only if it stays inside.
			to := filepath.Join(filepath.Dir(dst), filepath.FromSlash(h.Linkname))
			if filepath.IsAbs(h.Linkname) || !within(target, to) {
				return fmt.Errorf("refusing the link %q -> %q from the container: it points outside %s", h.Name, h.Linkname, target)
			}
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		}
	}
	if !seen {
		return errs.NotFoundErrorf("%s: nothing was copied from the container", name)
	}
	return nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(rel)
}
