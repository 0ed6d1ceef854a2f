package policy

import (
	"reflect"
	"testing"
)

func TestBinaryRoundTrip(t *testing.T) {
	p := mustParse(t, basePolicy)
	bin, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := q.UnmarshalBinary(bin); err != nil {
		t.Fatal(err)
	}
	if q.Version != p.Version || !reflect.DeepEqual(q.SuperAdmins, p.SuperAdmins) || len(q.Projects) != len(p.Projects) {
		t.Fatalf("got %+v", q)
	}
	for i := range p.Projects {
		a, b := p.Projects[i], q.Projects[i]
		if a.Name != b.Name || a.Line != b.Line || !reflect.DeepEqual(a.Namespaces, b.Namespaces) ||
			!reflect.DeepEqual(a.Admins, b.Admins) || !reflect.DeepEqual(a.Guests, b.Guests) {
			t.Errorf("project %d: got %+v, want %+v", i, b, a)
		}
	}
	ids := []Identity{{User: "dave", Groups: []string{"qa"}}, {User: "bob"}, {User: "root"}, {User: "x", Groups: []string{"team-search"}}}
	for _, id := range ids {
		for _, ns := range []string{"payments", "payments-staging", "search-x", "shared", "kube-system"} {
			for _, verb := range []string{"get", "exec"} {
				r := Request{Verb: verb, Resource: "pods", Namespace: ns}
				if a, b := p.Decide(id, r), q.Decide(id, r); !reflect.DeepEqual(a, b) {
					t.Errorf("%v %v: %+v != %+v", id, r, a, b)
				}
			}
		}
	}
	if !reflect.DeepEqual(p.Overlaps(), q.Overlaps()) {
		t.Error("overlaps differ")
	}
}

func TestBinaryCorrupt(t *testing.T) {
	p := mustParse(t, basePolicy)
	bin, _ := p.MarshalBinary()
	for i := 0; i < len(bin); i++ {
		var q Policy
		_ = q.UnmarshalBinary(bin[:i]) // must not panic
		if i < len(bin) && q.UnmarshalBinary(bin[:i]) == nil && i > len(binaryMagic) {
			t.Errorf("a truncated form (%d of %d bytes) decoded", i, len(bin))
		}
	}
	bad := append([]byte(nil), bin...)
	bad[len(bad)-3] = 'A' // a namespace that is not a DNS label
	var q Policy
	if err := q.UnmarshalBinary(append(bin[:len(bin):len(bin)], 0)); err == nil {
		t.Error("trailing data decoded")
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	p := mustParse(f, basePolicy)
	bin, _ := p.MarshalBinary()
	f.Add(bin)
	f.Fuzz(func(t *testing.T, data []byte) {
		var q Policy
		if q.UnmarshalBinary(data) == nil {
			q.Decide(Identity{User: "a"}, Request{Verb: "get", Resource: "pods", Namespace: "a"})
		}
	})
}

func TestBinarySensitiveKinds(t *testing.T) {
	for _, extra := range []string{"", "sensitiveKinds: [secrets, certificates.cert-manager.io]\n", "sensitiveKinds: []\n"} {
		p := mustParse(t, basePolicy+extra)
		bin, _ := p.MarshalBinary()
		var q Policy
		if err := q.UnmarshalBinary(bin); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.SensitiveKinds, q.SensitiveKinds) || !reflect.DeepEqual(p.Sensitive(), q.Sensitive()) {
			t.Errorf("%q: sensitive kinds %v, want %v", extra, q.SensitiveKinds, p.SensitiveKinds)
		}
		r := Request{Verb: "get", Resource: "certificates", Group: "cert-manager.io", Namespace: "payments"}
		if a, b := p.Decide(Identity{User: "bob"}, r), q.Decide(Identity{User: "bob"}, r); a.Allowed != b.Allowed {
			t.Errorf("%q: decisions differ after the cache: %v %v", extra, a.Allowed, b.Allowed)
		}
	}
}
