package ldapauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/errs"
)

// stallingServer accepts LDAP connections, answers binds with success and
// never answers anything else: a directory that hangs mid-login.
func stallingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				for {
					p, err := ber.ReadPacket(c)
					if err != nil || len(p.Children) < 2 {
						return
					}
					if p.Children[1].Tag != ldap.ApplicationBindRequest {
						continue // stall
					}
					resp := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
					resp.AppendChild(p.Children[0])
					br := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindResponse, nil, "Bind Response")
					br.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), "resultCode"))
					br.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
					br.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
					resp.AppendChild(br)
					if _, err := c.Write(resp.Bytes()); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestOperationTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://" + stallingServer(t)}
	cfg.StartTLS, cfg.Insecure = false, true
	cfg.Timeout = 300 * time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var warned string
	a.Warnf = func(format string, args ...any) { warned = format }
	start := time.Now()
	_, err = a.Authenticate(context.Background(), "alice", "alice-pw")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s with a 300ms timeout", took)
	}
	if kindOf(err) != errs.KindUnavailable || !strings.Contains(err.Error(), "no answer within 300ms while searching") {
		t.Errorf("err = %v, want unavailable: no answer within 300ms while searching", err)
	}
	if !strings.Contains(warned, "without TLS") {
		t.Errorf("no plaintext warning; got %q", warned)
	}
}

func TestStartTLSTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://" + stallingServer(t)}
	cfg.Timeout = 300 * time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), "alice", "alice-pw")
	if kindOf(err) != errs.KindUnavailable || !strings.Contains(err.Error(), "no answer to StartTLS within 300ms") {
		t.Errorf("err = %v, want unavailable: no answer to StartTLS", err)
	}
}

func TestCancel(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://" + stallingServer(t)}
	cfg.StartTLS, cfg.Insecure = false, true
	cfg.Timeout = time.Minute
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err = a.Authenticate(ctx, "alice", "alice-pw")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s, want context.Canceled soon", err, time.Since(start))
	}
}
