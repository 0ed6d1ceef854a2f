package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalizeUsername(t *testing.T) {
	for _, name := range []string{
		"carol", "Carol", "CAROL", "ｃａｒｏｌ", "ＣＡＲＯＬ", " carol", "carol  ", "\tcarol\n",
		"car\u200bol", "caro\u00adl", "carol\x00", "c\u0061rol", "\u3000carol\u3000", "ca\ufe0frol",
	} {
		got, err := normalizeUsername(name)
		if err != nil || got != "carol" {
			t.Errorf("normalizeUsername(%q) = %q, %v; want carol", name, got, err)
		}
	}
	// Names that are other names stay apart; folding is Unicode's.
	for name, want := range map[string]string{
		"caro\u0301l":  "car\u00f3l", // NFKC composes o + U+0301 into ó
		"carol\u0301":  "caro\u013a",
		"Straße":       "strasse",
		"ǅemal":        "džemal",
		"*)(uid=*":     "*)(uid=*",
		"admin\\00":    "admin\\00",
		"first  last":  "first last",
		"K\u212a":      "kk", // KELVIN SIGN
		"\uff41\uff44": "ad",
	} {
		got, err := normalizeUsername(name)
		if err != nil || got != want {
			t.Errorf("normalizeUsername(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", "\u200b", "\xff\xfe", strings.Repeat("a", 257), strings.Repeat("\u200b", 2000) + "carol"} {
		if got, err := normalizeUsername(bad); err == nil {
			t.Errorf("normalizeUsername(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLoginLimitCannotBeSidesteppedBySpelling(t *testing.T) {
	f := newFixture(t)
	f.auth.groups["carol"] = []string{"team-search"}
	login := func(user, pw string) int {
		req := httptest.NewRequest("POST", LoginPath, strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
		req.RemoteAddr = "10.1.1.1:999"
		rec := httptest.NewRecorder()
		f.g.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for _, spelling := range []string{"Carol", "ｃａｒｏｌ", "carol  "} {
		if code := login(spelling, "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("%q: %d", spelling, code)
		}
	}
	calls := f.auth.calls
	for _, spelling := range []string{"carol", "CAROL", "ｃａｒｏｌ", "car\u200bol"} {
		if code := login(spelling, "carol-pw"); code != http.StatusTooManyRequests {
			t.Errorf("%q after three failures in other spellings: %d", spelling, code)
		}
	}
	if f.auth.calls != calls {
		t.Error("a limited login reached the directory")
	}
	if e := f.audit.last(); e.User != "carol" {
		t.Errorf("audit user %q", e.User)
	}
	// A name too long, or not UTF-8, is refused before it is counted or sent.
	for _, bad := range []string{strings.Repeat("x", 5000), "\xff"} {
		if code := login(bad, "pw"); code != http.StatusBadRequest {
			t.Errorf("%.20q: %d", bad, code)
		}
	}
	if f.auth.calls != calls {
		t.Error("a refused name reached the directory")
	}
}
