package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// watchedWriter tells when the connection of an upgraded (hijacked) request
// goes away, which the streaming library does not expose: exec uses it to end
// the command when the client disconnects, as closing a terminal would.
// It deliberately has no Unwrap method, so the websocket path of
// k8s.io/cri-streaming hijacks through it as well.
type watchedWriter struct {
	http.ResponseWriter
	closed chan struct{}
	once   sync.Once
}

func newWatchedWriter(w http.ResponseWriter) *watchedWriter {
	return &watchedWriter{ResponseWriter: w, closed: make(chan struct{})}
}

func (w *watchedWriter) signal() { w.once.Do(func() { close(w.closed) }) }

func (w *watchedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *watchedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot hijack")
	}
	conn, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: conn, w: w}
	var r io.Reader = wc
	if n := rw.Reader.Buffered(); n > 0 {
		// Keep what the server already read past the request headers.
		b, _ := rw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(b)), wc)
	}
	return wc, bufio.NewReadWriter(bufio.NewReader(r), bufio.NewWriter(wc)), nil
}

type watchedConn struct {
	net.Conn
	w *watchedWriter
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.w.signal()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.w.signal()
	return c.Conn.Close()
}
