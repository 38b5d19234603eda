package pattern

import (
	"testing"
)

// FuzzParse: Parse never panics; a pattern that parses matches only what
// fits its bound, overlaps itself, and expands its own captures.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"PUMP-{serial:000000-999999}", "LOT-{lot}/{serial}", "S{n:1-9999}", "{a}{b}", "A{{{x}}}", "{", "}", "{a:1-}", "x{a:18446744073709551615-1}"} {
		f.Add(s, "pump-000001")
		f.Add(s, "lot-b7/x17")
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
		// The captures and literals put back together are the suffix, and
		// every capture is one its capture accepts.
		var back string
		for _, pt := range p.parts {
			if pt.cap == nil {
				back += pt.lit
				continue
			}
			if !pt.cap.accepts(caps[pt.cap.name]) {
				t.Fatalf("%q on %q: capture %s=%q not acceptable", src, suffix, pt.cap.name, caps[pt.cap.name])
			}
			back += caps[pt.cap.name]
		}
		if back != suffix {
			t.Fatalf("%q on %q: captures rebuild %q", src, suffix, back)
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
