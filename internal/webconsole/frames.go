package webconsole

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// frameWatcher reads, without changing it, what the upgrade proxy writes to
// the browser: the API server's HTTP answer to the upgrade, then WebSocket
// frames of the Kubernetes channel protocol (v4/v5.channel.k8s.io: the
// first byte of each message is the channel; base64.channel.k8s.io: an
// ASCII digit, then base64). Channel 3 carries the command's end as a
// Status, from which it takes the exit code.
type frameWatcher struct {
	headerDone bool
	header     []byte
	status     int

	fh        []byte // the frame header read so far
	remaining uint64 // payload bytes left in the current frame
	opcode    byte
	fin       bool
	masked    bool
	mask      [4]byte
	maskPos   int

	first   bool // the next payload byte is the message's channel
	text    bool
	collect bool
	buf     []byte

	exit    *int
	message string
}

const (
	maxUpgradeHeader = 64 << 10
	maxStatusMessage = 64 << 10
	errorChannel     = 3
)

func (f *frameWatcher) feed(b []byte) {
	if !f.headerDone {
		f.header = append(f.header, b...)
		i := bytes.Index(f.header, []byte("\r\n\r\n"))
		if i < 0 {
			if len(f.header) > maxUpgradeHeader {
				f.headerDone, f.header = true, nil // not HTTP as expected; stop looking
			}
			return
		}
		f.headerDone = true
		line, _, _ := bytes.Cut(f.header, []byte("\r\n"))
		if parts := strings.Fields(string(line)); len(parts) >= 2 {
			f.status, _ = strconv.Atoi(parts[1])
		}
		rest := f.header[i+4:]
		f.header = nil
		b = rest
		if f.status != 101 {
			return
		}
	}
	if f.status != 101 {
		return
	}
	for len(b) > 0 {
		if f.remaining == 0 && !f.headerComplete() {
			f.fh = append(f.fh, b[0])
			b = b[1:]
			if f.headerComplete() {
				f.startFrame()
				if f.remaining == 0 {
					f.endFrame()
				}
			}
			continue
		}
		n := min(uint64(len(b)), f.remaining)
		f.payload(b[:n])
		b = b[n:]
		f.remaining -= n
		if f.remaining == 0 {
			f.endFrame()
		}
	}
}

// headerComplete reports whether fh holds a whole frame header.
func (f *frameWatcher) headerComplete() bool {
	if len(f.fh) < 2 {
		return false
	}
	need := 2
	switch f.fh[1] & 0x7f {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if f.fh[1]&0x80 != 0 {
		need += 4
	}
	return len(f.fh) >= need
}

func (f *frameWatcher) startFrame() {
	h := f.fh
	f.fin = h[0]&0x80 != 0
	f.opcode = h[0] & 0x0f
	f.masked = h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	off := 2
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:4]))
		off = 4
	case 127:
		n = binary.BigEndian.Uint64(h[2:10])
		off = 10
	}
	if f.masked {
		copy(f.mask[:], h[off:off+4])
	}
	f.maskPos = 0
	f.remaining = n
	if f.opcode == 1 || f.opcode == 2 {
		// A new message (0 continues the current one).
		f.first, f.text, f.collect, f.buf = true, f.opcode == 1, false, f.buf[:0]
	}
}

func (f *frameWatcher) payload(p []byte) {
	if f.opcode >= 8 {
		return // control frames: ping, pong, close
	}
	for _, c := range p {
		if f.masked {
			c ^= f.mask[f.maskPos%4]
			f.maskPos++
		}
		if f.first {
			f.first = false
			ch := int(c)
			if f.text {
				ch = int(c) - '0'
			}
			f.collect = ch == errorChannel
			continue
		}
		if f.collect && len(f.buf) < maxStatusMessage {
			f.buf = append(f.buf, c)
		}
	}
}

func (f *frameWatcher) endFrame() {
	f.fh = f.fh[:0]
	if f.opcode >= 8 || !f.fin || !f.collect {
		return
	}
	data := f.buf
	if f.text {
		d, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			return
		}
		data = d
	}
	f.collect = false
	if len(bytes.TrimSpace(data)) == 0 {
		return
	}
	code, msg, ok := exitStatus(data)
	if ok {
		f.exit = &code
	} else if msg != "" {
		f.message = msg
	}
}

// exitStatus reads the Status the API server sends on the error channel:
// Success is exit code 0; NonZeroExitCode names the code in a cause.
func exitStatus(data []byte) (code int, msg string, ok bool) {
	var st metav1.Status
	if err := json.Unmarshal(data, &st); err != nil {
		// The oldest protocol versions send the error as plain text.
		return 0, strings.TrimSpace(string(data)), false
	}
	if st.Status == metav1.StatusSuccess {
		return 0, "", true
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == "ExitCode" {
				if n, err := strconv.Atoi(c.Message); err == nil {
					return n, st.Message, true
				}
			}
		}
	}
	return 0, st.Message, false
}
