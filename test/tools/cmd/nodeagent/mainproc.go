package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	remotecommandserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
)

// mainProc is the main process of a container whose spec asks for stdin
// (stdin: true, with or without tty: true): what a container runtime runs
// and a kubelet's attach connects to. kwok runs no process, so the agent
// starts one when the container is first attached to: the container's
// command and args if the first resolves on the agent's PATH, else sh, under
// a pty of its own for a tty container. Its stdin is what attached clients
// type, its output goes to every attached client and to the container's log
// (as a runtime logs a container's stdout), and a tty container's pty takes
// the clients' resize events. When it exits, the attaches end, as they do
// when a container ends; the next attach starts it again (the restart).
type mainProc struct {
	key   string
	tty   bool
	cmd   *exec.Cmd
	stdin io.WriteCloser // the pty's master for a tty container
	pty   *os.File
	done  chan struct{} // closed when the process has exited and its output is drained

	mu   sync.Mutex
	subs map[*mainSub]struct{}
	log  string // the container's current log file
	part []byte // output after the last newline, not yet in the log
}

// mainSub is one attached client's share of the output.
type mainSub struct {
	out, errOut io.Writer
}

// mainProcs are the running main processes, by pod UID and container.
var (
	mainProcsMu sync.Mutex
	mainProcs   = map[string]*mainProc{}
)

func mainProcKey(uid types.UID, container string) string { return string(uid) + "/" + container }

// containerSpec is the spec of container of p, regular or ephemeral.
func containerSpec(p *v1.Pod, name string) (stdin, stdinOnce, tty bool, command []string) {
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return c.Stdin, c.StdinOnce, c.TTY, append(append([]string(nil), c.Command...), c.Args...)
		}
	}
	for _, c := range p.Spec.EphemeralContainers {
		if c.Name == name {
			return c.Stdin, c.StdinOnce, c.TTY, append(append([]string(nil), c.Command...), c.Args...)
		}
	}
	return false, false, false, nil
}

// mainProcess returns the running main process of container, starting it
// (with size, when the first client sent one) if there is none.
func (a *agent) mainProcess(p *v1.Pod, container string, size *remotecommandserver.TerminalSize) (*mainProc, error) {
	key := mainProcKey(p.UID, container)
	mainProcsMu.Lock()
	defer mainProcsMu.Unlock()
	if mp := mainProcs[key]; mp != nil {
		select {
		case <-mp.done:
		default:
			return mp, nil
		}
	}
	_, _, tty, command := containerSpec(p, container)
	e := &podExecutor{a: a, pod: p}
	env := e.env(container, tty)
	dir := a.podWorkDir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := ""
	if len(command) > 0 {
		path, _ = lookPath(command[0], dir, env)
	}
	if path == "" {
		// An image's command means nothing here: a shell is the process.
		command = []string{"sh"}
		var err error
		if path, err = lookPath("sh", dir, env); err != nil {
			return nil, err
		}
	}
	mp := &mainProc{key: key, tty: tty, done: make(chan struct{}), subs: map[*mainSub]struct{}{},
		log: a.containerLogPath(p, container, restartCount(p, container))}
	mp.cmd = &exec.Cmd{Path: path, Args: command, Env: env, Dir: dir}
	var outputs []io.Reader
	if tty {
		mp.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
		var ws *pty.Winsize
		if size != nil {
			ws = &pty.Winsize{Rows: size.Height, Cols: size.Width}
		}
		ptmx, err := pty.StartWithAttrs(mp.cmd, ws, mp.cmd.SysProcAttr)
		if err != nil {
			return nil, err
		}
		mp.pty, mp.stdin = ptmx, ptmx
		outputs = append(outputs, ptmx)
	} else {
		mp.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		in, err := mp.cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		outR, err := mp.cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		errR, err := mp.cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		if err := mp.cmd.Start(); err != nil {
			return nil, err
		}
		mp.stdin = in
		outputs = append(outputs, outR, errR)
	}
	klog.InfoS("main process started", "pod", klog.KObj(p), "container", container, "command", command, "tty", tty)
	var wg sync.WaitGroup
	for i, r := range outputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mp.pump(r, i == 1)
		}()
	}
	go func() {
		err := mp.cmd.Wait()
		if mp.pty != nil {
			// The pty's output ends with EIO once the process (and anything
			// that held the pty) is gone; do not wait for a straggler.
			waitTimeout(&wg, 2*time.Second)
			mp.pty.Close()
		} else {
			wg.Wait()
		}
		mp.flushLog()
		klog.InfoS("main process exited", "pod", klog.KObj(p), "container", container, "err", err)
		close(mp.done)
	}()
	mainProcs[key] = mp
	return mp, nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// pump copies one output of the process to the attached clients and the log.
func (mp *mainProc) pump(r io.Reader, stderr bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			mp.emit(buf[:n], stderr)
		}
		if err != nil {
			return
		}
	}
}

func (mp *mainProc) emit(b []byte, stderr bool) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	for s := range mp.subs {
		w := s.out
		if stderr && s.errOut != nil {
			w = s.errOut
		}
		if w != nil {
			_, _ = w.Write(b)
		}
	}
	// The log in CRI format: whole lines "F", as a runtime writes them.
	mp.part = append(mp.part, b...)
	var lines bytes.Buffer
	now := time.Now().UTC().Format(time.RFC3339Nano)
	stream := "stdout"
	if stderr {
		stream = "stderr"
	}
	for {
		i := bytes.IndexByte(mp.part, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(&lines, "%s %s F %s\n", now, stream, bytes.TrimRight(mp.part[:i], "\r"))
		mp.part = mp.part[i+1:]
	}
	if lines.Len() > 0 {
		_ = appendLine(mp.log, lines.String())
	}
}

func (mp *mainProc) flushLog() {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if len(mp.part) > 0 {
		_ = appendLine(mp.log, fmt.Sprintf("%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), mp.part))
		mp.part = nil
	}
}

func (mp *mainProc) subscribe(out, errOut io.Writer) func() {
	s := &mainSub{out: out, errOut: errOut}
	if mp.tty {
		s.errOut = nil // a terminal has one stream
	}
	mp.mu.Lock()
	mp.subs[s] = struct{}{}
	mp.mu.Unlock()
	return func() {
		mp.mu.Lock()
		delete(mp.subs, s)
		mp.mu.Unlock()
	}
}

// attachMain is a kubelet's attach to a container with stdin: the client's
// stdin goes to the main process, its output to the client, resize events
// to its terminal. It returns when the process exits (the container ended),
// the client goes away, or the client's stdin ends: then a stdinOnce
// container's stdin is closed as a runtime does (which ends a shell), and
// any other container goes on without this client (a detach).
func (t *podAttacher) attachMain(container string, in io.Reader, out, errOut io.WriteCloser, resize <-chan remotecommandserver.TerminalSize) error {
	_, stdinOnce, tty, _ := containerSpec(t.pod, container)
	var first *remotecommandserver.TerminalSize
	if tty && resize != nil {
		// kubectl sends the terminal size right after the streams are up.
		select {
		case s, ok := <-resize:
			if ok {
				first = &s
			}
		case <-time.After(time.Second):
		}
	}
	mp, err := t.a.mainProcess(t.pod, container, first)
	if err != nil {
		return err
	}
	var o, e io.Writer
	if out != nil {
		o = out
	}
	if errOut != nil {
		e = errOut
	}
	defer mp.subscribe(o, e)()
	if tty && mp.pty != nil {
		if first != nil {
			mp.setSize(*first, t.pod, container)
		}
		if resize != nil {
			go func() {
				for s := range resize {
					mp.setSize(s, t.pod, container)
				}
			}()
		}
	}
	stdinDone := make(chan struct{})
	if in != nil {
		go func() {
			defer close(stdinDone)
			_, _ = io.Copy(mp.stdin, in)
		}()
	}
	select {
	case <-mp.done:
		return nil
	case <-t.gone:
		return nil
	case <-stdinDone:
		if !stdinOnce {
			return nil
		}
		if mp.pty != nil {
			_, _ = mp.stdin.Write([]byte{4}) // EOF, as a terminal sends it
		} else {
			_ = mp.stdin.Close()
		}
		select {
		case <-mp.done:
		case <-t.gone:
		case <-time.After(5 * time.Second):
		}
		return nil
	}
}

// setSize applies a client's terminal size to the process's pty and logs
// it, so that a test can see the resize arrive.
func (mp *mainProc) setSize(s remotecommandserver.TerminalSize, p *v1.Pod, container string) {
	if err := pty.Setsize(mp.pty, &pty.Winsize{Rows: s.Height, Cols: s.Width}); err != nil {
		klog.V(2).InfoS("resize", "err", err)
		return
	}
	klog.InfoS("attach resize", "pod", klog.KObj(p), "container", container, "width", s.Width, "height", s.Height)
}

// stopMainProcs forgets the main processes of a pod that is gone (its
// processes are killed with its others).
func stopMainProcs(uid types.UID) {
	mainProcsMu.Lock()
	defer mainProcsMu.Unlock()
	prefix := string(uid) + "/"
	for k := range mainProcs {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			delete(mainProcs, k)
		}
	}
}
