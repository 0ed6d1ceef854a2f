package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	v1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming"
	remotecommandserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
	utilexec "k8s.io/utils/exec"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// serveExec is the kubelet's getExec, with the container runtime's streaming
// server (k8s.io/cri-streaming) answering in place instead of behind a redirect.
func (a *agent) serveExec(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommandserver.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, ok := a.lookupPod(w, r)
	if !ok {
		return
	}
	container := r.PathValue("container")
	if !containerExists(p, container) || !podRunning(p) {
		_ = streaming.WriteError(fmt.Errorf("container not found (%q)", container), w)
		return
	}
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "missing command", http.StatusBadRequest)
		return
	}
	ww := newWatchedWriter(w)
	remotecommandserver.ServeExec(ww, r, &podExecutor{a: a, pod: p, gone: ww.closed}, p.Name, string(p.UID), container, cmd, opts,
		a.o.streamIdleTimeout, remotecommandserver.DefaultStreamCreationTimeout, remotecommandserver.SupportedStreamingProtocols)
}

// podExecutor runs exec commands of one pod as local processes.
type podExecutor struct {
	a    *agent
	pod  *v1.Pod
	gone <-chan struct{} // closed when the client's connection ends
}

// ExecInContainer implements remotecommandserver.Executor. A non-zero exit is
// returned as utilexec.CodeExitError, which ServeExec reports as the exit code.
func (e *podExecutor) ExecInContainer(_ context.Context, _ string, _ string, container string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommandserver.TerminalSize, _ time.Duration) error {
	env := e.env(container, tty)
	dir := e.a.podWorkDir(e.pod)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Resolve argv[0] with the command's own PATH, as a container runtime does.
	// (exec.Command would use the agent's PATH.)
	path, err := lookPath(cmd[0], dir, env)
	if err != nil {
		return startFailure(cmd, err, errOut, out)
	}
	c := &exec.Cmd{Path: path, Args: cmd, Env: env, Dir: dir}
	klog.V(2).InfoS("exec", "pod", klog.KObj(e.pod), "container", container, "command", cmd, "tty", tty)
	if tty {
		return e.runTTY(c, cmd, in, out, resize)
	}
	return e.run(c, cmd, in, out, errOut)
}

func (e *podExecutor) env(container string, tty bool) []string {
	env := []string{"PATH=" + defaultPath, "HOME=" + e.a.podWorkDir(e.pod)}
	for _, c := range e.pod.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, ev := range c.Env {
			if ev.ValueFrom == nil {
				env = append(env, ev.Name+"="+ev.Value)
			}
		}
	}
	if tty {
		env = append(env, "TERM=xterm")
	}
	return append(env,
		"HOSTNAME="+e.pod.Name,
		"KGATE_POD="+e.pod.Name,
		"KGATE_NAMESPACE="+e.pod.Namespace,
		"KGATE_CONTAINER="+container,
		"KGATE_NODE="+e.pod.Spec.NodeName,
		"KGATE_POD_UID="+string(e.pod.UID),
		"KGATE_NODEAGENT_SESSION="+e.a.session,
	)
}

func (e *podExecutor) run(c *exec.Cmd, cmd []string, in io.Reader, out, errOut io.WriteCloser) error {
	if out != nil {
		c.Stdout = out
	}
	if errOut != nil {
		c.Stderr = errOut
	}
	var stdin io.WriteCloser
	if in != nil {
		var err error
		if stdin, err = c.StdinPipe(); err != nil {
			return err
		}
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Background children that keep stdout open must not hold the session.
	c.WaitDelay = 2 * time.Second
	if err := c.Start(); err != nil {
		return startFailure(cmd, err, errOut, out)
	}
	defer e.hangupOnDisconnect(c.Process.Pid)()
	if stdin != nil {
		go func() {
			// Close the process's stdin when the client's stdin ends.
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		}()
	}
	return exitResult(cmd, c.Wait(), c.ProcessState)
}

func (e *podExecutor) runTTY(c *exec.Cmd, cmd []string, in io.Reader, out io.WriteCloser, resize <-chan remotecommandserver.TerminalSize) error {
	// kubectl sends the terminal size right after the streams are up; wait a
	// moment for it so the command starts with the right size.
	var size *pty.Winsize
	if resize != nil {
		select {
		case s, ok := <-resize:
			if ok {
				size = &pty.Winsize{Rows: s.Height, Cols: s.Width}
			}
		case <-time.After(time.Second):
		}
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
	ptmx, err := pty.StartWithAttrs(c, size, c.SysProcAttr)
	if err != nil {
		return startFailure(cmd, err, out, nil)
	}
	defer ptmx.Close()
	defer e.hangupOnDisconnect(c.Process.Pid)()

	if resize != nil {
		go func() {
			for s := range resize {
				if err := pty.Setsize(ptmx, &pty.Winsize{Rows: s.Height, Cols: s.Width}); err != nil {
					klog.V(2).InfoS("resize", "err", err)
				}
			}
		}()
	}
	if in != nil {
		go func() {
			_, err := io.Copy(ptmx, in)
			if err == nil {
				// Client stdin ended: send EOF the way a terminal does.
				_, _ = ptmx.Write([]byte{4})
			}
		}()
	}
	var sink io.Writer = io.Discard
	if out != nil {
		sink = out
	}
	outDone := make(chan struct{})
	var once sync.Once
	go func() {
		_, _ = io.Copy(sink, ptmx) // ends with EIO once the last slave fd is closed
		once.Do(func() { close(outDone) })
	}()
	werr := c.Wait()
	select {
	case <-outDone:
	case <-time.After(2 * time.Second):
	}
	return exitResult(cmd, werr, c.ProcessState)
}

// hangupOnDisconnect ends the command's process group (SIGHUP, then SIGKILL
// a second later) if the client goes away while it runs. The returned func
// stops watching; call it once the command has exited.
func (e *podExecutor) hangupOnDisconnect(pgid int) func() {
	exited := make(chan struct{})
	go func() {
		select {
		case <-exited:
			return
		case <-e.gone:
		}
		klog.InfoS("client disconnected; ending exec", "pod", klog.KObj(e.pod), "pgid", pgid)
		_ = syscall.Kill(-pgid, syscall.SIGHUP)
		select {
		case <-exited:
		case <-time.After(time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
	return func() { close(exited) }
}

// exitResult turns the outcome of Wait into what ServeExec expects.
func exitResult(cmd []string, err error, ps *os.ProcessState) error {
	if ps == nil {
		return err
	}
	code := ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code == 0 {
		if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
			return err
		}
		return nil
	}
	return utilexec.CodeExitError{Err: fmt.Errorf("error executing command %v, exit code %d", cmd, code), Code: code}
}

// startFailure reports a command that could not start the way a shell does:
// 127 when it is not found, 126 when it cannot be executed.
func startFailure(cmd []string, err error, errOut, fallback io.Writer) error {
	code := 126
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	msg := fmt.Sprintf("exec: %q: %v\n", cmd[0], unwrapExecErr(err))
	if code == 127 && !strings.Contains(cmd[0], "/") {
		msg = fmt.Sprintf("exec: %q: executable file not found in $PATH\n", cmd[0])
	}
	w := errOut
	if w == nil {
		w = fallback
	}
	if w != nil {
		_, _ = io.WriteString(w, msg)
	}
	return utilexec.CodeExitError{Err: errors.New(strings.TrimSpace(msg)), Code: code}
}

func unwrapExecErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// lookPath finds file in the PATH of env (not the agent's own PATH).
func lookPath(file, dir string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if !strings.HasPrefix(file, "/") {
			file = dir + "/" + file
		}
		fi, err := os.Stat(file)
		if err != nil {
			return "", err
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fs.ErrPermission
		}
		return file, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	var denied error
	for _, d := range strings.Split(path, ":") {
		if d == "" {
			d = dir
		}
		cand := d + "/" + file
		fi, err := os.Stat(cand)
		if err != nil {
			continue
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			denied = fs.ErrPermission
			continue
		}
		return cand, nil
	}
	if denied != nil {
		return "", denied
	}
	return "", exec.ErrNotFound
}
