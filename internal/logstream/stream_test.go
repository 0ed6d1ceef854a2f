package logstream

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func ts(sec, nsec int) string {
	return time.Date(2026, 11, 22, 10, 0, sec, nsec, time.UTC).Format(time.RFC3339Nano)
}

func newTestStreamer(follow, timestamps bool) (*streamer, *bytes.Buffer) {
	out := &bytes.Buffer{}
	o := &Config{Out: out, ErrOut: &bytes.Buffer{}, Follow: follow, Timestamps: timestamps}
	return newStreamer(nil, o, newOutput(out, false), false), out
}

// TestResumeSkipsWhatWasWritten replays what a resumed request returns (the
// API server truncates sinceTime to the second) and checks that no line is
// repeated and none is lost, including lines that share a timestamp.
func TestResumeSkipsWhatWasWritten(t *testing.T) {
	s, out := newTestStreamer(true, false)
	st := &resume{}
	first := ts(1, 100) + " a\n" + ts(1, 200) + " b\n" + ts(1, 200) + " c\n" + ts(2, 5) + " partial-without-newline"
	if err := s.consume(strings.NewReader(first), st, nil); err != nil {
		t.Fatal(err)
	}
	s.out.flush()
	if out.String() != "a\nb\nc\n" {
		t.Fatalf("before the break: %q", out.String())
	}
	// The resumed stream starts at the second: everything from 10:00:01 again.
	st.resuming, st.seen = true, 0
	again := ts(1, 100) + " a\n" + ts(1, 200) + " b\n" + ts(1, 200) + " c\n" + ts(1, 200) + " d\n" + ts(2, 5) + " e\n"
	if err := s.consume(strings.NewReader(again), st, nil); err != nil {
		t.Fatal(err)
	}
	s.out.flush()
	if out.String() != "a\nb\nc\nd\ne\n" {
		t.Fatalf("after resuming: %q", out.String())
	}
}

func TestTimestampsKeptWhenAsked(t *testing.T) {
	s, out := newTestStreamer(false, true)
	if err := s.consume(strings.NewReader(ts(1, 0)+" x\n"+ts(2, 0)+" last-without-newline"), &resume{}, []byte("[p] ")); err != nil {
		t.Fatal(err)
	}
	s.out.flush()
	want := "[p] " + ts(1, 0) + " x\n[p] " + ts(2, 0) + " last-without-newline"
	if out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
}

func TestLongLines(t *testing.T) {
	s, out := newTestStreamer(false, false)
	long := strings.Repeat("z", 200<<10)
	if err := s.consume(strings.NewReader(ts(1, 0)+" "+long+"\n"), &resume{}, nil); err != nil {
		t.Fatal(err)
	}
	s.out.flush()
	if out.String() != long+"\n" {
		t.Fatalf("long line: %d bytes", out.Len())
	}
}

func TestPrefixColour(t *testing.T) {
	o := newOutput(&bytes.Buffer{}, true)
	p := string(o.prefix("web-1", "app"))
	if !strings.HasPrefix(p, "\x1b[") || !strings.Contains(p, "[pod/web-1/app") || !strings.HasSuffix(p, "\x1b[0m ") {
		t.Fatalf("%q", p)
	}
	if string(o.prefix("web-1", "app")) != p {
		t.Fatal("a pod's colour must not change")
	}
	if plain := string(newOutput(&bytes.Buffer{}, false).prefix("web-1", "app")); plain != "[pod/web-1/app] " {
		t.Fatalf("%q", plain)
	}
}

func TestPrefixFor(t *testing.T) {
	for _, tc := range []struct {
		p       Prefix
		streams int
		want    bool
	}{
		{PrefixAuto, 1, false}, {PrefixAuto, 2, true},
		{PrefixOn, 1, true}, {PrefixOff, 2, false},
	} {
		if got := (&Config{Prefix: tc.p}).prefixFor(tc.streams); got != tc.want {
			t.Errorf("%v with %d streams: %v", tc.p, tc.streams, got)
		}
	}
}
