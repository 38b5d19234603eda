package httpgw_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idres/idres/resolver/httpgw"
)

// FuzzDecodeIdentifier: decoding never panics; whatever decodes survives
// EscapeIdentifier and decodes back to itself; an escaped path is ASCII,
// has no "?" or "#", and no dot or empty segment after the first.
func FuzzDecodeIdentifier(f *testing.F) {
	for _, s := range []string{
		"88.100/x", "88.100%2Fa%2Fb", "88.100/with%20space", "88.100/%F0%9F%98%80", "88.100/50%252Foff",
		"88.100/%", "88.100/%zz", "88.100/./..//x/", "%00", "api/handles/x", "a+b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		id, err := httpgw.DecodeIdentifier(escaped)
		if err != nil {
			return
		}
		if !strings.Contains(escaped, "%") && id != escaped {
			t.Fatalf("DecodeIdentifier(%q) = %q changed a path without escapes", escaped, id)
		}
		if pp := httpgw.PagePath(id); strings.HasPrefix(pp, "//") || strings.HasPrefix(pp, "/\\") {
			t.Fatalf("PagePath(%q) = %q leaves the site", id, pp)
		}
		for _, p := range []string{httpgw.EscapeIdentifier(id), httpgw.PagePath(id)[1:]} {
			for i := 0; i < len(p); i++ {
				if c := p[i]; c >= utf8.RuneSelf || c <= ' ' || c == '?' || c == '#' || c == '%' && i+2 >= len(p) {
					t.Fatalf("escape of %q = %q has %q at %d", id, p, c, i)
				}
			}
			for i, seg := range strings.Split(p, "/") {
				if i > 0 && (seg == "" || seg == "." || seg == "..") {
					t.Fatalf("escape of %q = %q has segment %q", id, p, seg)
				}
			}
			back, err := httpgw.DecodeIdentifier(p)
			if err != nil || back != id {
				t.Fatalf("DecodeIdentifier(escape(%q) = %q) = %q, %v", id, p, back, err)
			}
		}
	})
}
