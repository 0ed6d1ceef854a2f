package gateway

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// maxUsername bounds a username at login (in bytes, after trimming): no
// directory has longer ones, and a longer one is refused before it is
// counted, logged or sent to the directory.
const maxUsername = 256

// folder is Unicode full case folding; it keeps no state between calls.
var folder = cases.Fold()

// normalizeUsername is the key under which failed logins of a name are
// counted: at least as coarse as the directory's own matching, so that no
// spelling of a name that the directory takes for a user escapes the limit
// of that user. LDAP compares uid with caseIgnoreMatch after the string
// preparation of RFC 4518: controls and format characters (zero-width
// spaces, soft hyphens, NUL) mapped to nothing, every kind of space mapped
// to one space, leading and trailing spaces ignored, compatibility
// normalization (full-width "ｃａｒｏｌ" is "carol") and case folding.
// The key does the same, NFKC with case folding twice so that folding
// cannot undo the normalization.
func normalizeUsername(s string) (string, error) {
	if len(s) > 4*maxUsername {
		return "", errors.New("the username is too long")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("the username is not valid UTF-8")
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFKC.String(s) {
		switch {
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
			space = true
			continue
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r == unicode.ReplacementChar ||
			r >= 0xFE00 && r <= 0xFE0F || r >= 0x180B && r <= 0x180D || r == 0x034F || r == 0xFFFC:
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := norm.NFKC.String(folder.String(norm.NFKC.String(b.String())))
	if out == "" {
		return "", errors.New("no username")
	}
	if len(out) > maxUsername {
		return "", errors.New("the username is too long")
	}
	return out, nil
}
