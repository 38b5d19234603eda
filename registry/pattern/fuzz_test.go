package pattern

import (
	"testing"
)

// FuzzParse: Parse never panics; a pattern that parses matches only what
// fits its bound, overlaps itself, and expands its own captures.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"PUMP-{serial:000000-999999}", "LOT-{lot}/{serial}", "S{n:1-9999}", "{a}{b}", "A{{{x}}}", "{", "}", "{a:1-}", "x{a:18446744073709551615-1}"} {
		f.Add(s, "pump-000001")
	}
	f.Fuzz(func(t *testing.T, src, suffix string) {
		p, err := Parse(src)
		if err != nil {
			return
		}
		if !Overlaps(p, p) {
			t.Fatalf("%q does not overlap itself", src)
		}
		caps, ok := p.Match(suffix)
		if !ok {
			return
		}
		if len(suffix) > p.max {
			t.Fatalf("%q matched %d bytes, more than its bound %d", src, len(suffix), p.max)
		}
		tmpl := ""
		for _, n := range p.Names() {
			tmpl += "{" + n + "}"
		}
		if _, err := p.Expand(tmpl, caps); err != nil {
			t.Fatalf("expand own captures of %q: %v", src, err)
		}
	})
}
