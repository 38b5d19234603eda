package pattern

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "empty"},
		{"PUMP-000001", "no capture"},
		{"P-{serial", "not closed"},
		{"P-}x{a}", "unmatched"},
		{"P-{Serial}", "only [a-z0-9_]"},
		{"P-{}", "capture name"},
		{"P-{a}{a}", "twice"},
		{"P-{s:9-1}", "empty"},
		{"P-{s:01-999}", "leading zeros"},
		{"P-{s:abc}", "LO-HI"},
		{"P-{s:0000000000000000000-1}", "at most 18"},
		{"{a}{b}{c}{d}{e}{f}{g}{h}{i}", "more than 8"},
		{"/{a}", "prefix separator"},
		{"P-\x01{a}", "control"},
		{strings.Repeat("x", 600) + "{a}", "more than 512"},
	} {
		_, err := Parse(tc.src)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid saying %q", tc.src, err, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, suffix string
		want            map[string]string // nil: no match
	}{
		{"PUMP-{serial:000000-999999}", "pump-000042", map[string]string{"serial": "000042"}},
		{"PUMP-{serial:000000-999999}", "pump-999999", map[string]string{"serial": "999999"}},
		{"PUMP-{serial:000000-999999}", "pump-42", nil},      // fixed width
		{"PUMP-{serial:000000-999999}", "pump-0000420", nil}, // too long
		{"PUMP-{serial:000000-999999}", "pump-00004a", nil},  // not a digit
		{"PUMP-{serial:000000-999999}", "valve-000042", nil}, // literal
		{"PUMP-{serial:000100-000199}", "pump-000200", nil},  // above range
		{"PUMP-{serial:000100-000199}", "pump-000150", map[string]string{"serial": "000150"}},
		{"S{n:1-9999}", "s1", map[string]string{"n": "1"}},
		{"S{n:1-9999}", "s9999", map[string]string{"n": "9999"}},
		{"S{n:1-9999}", "s0", nil},
		{"S{n:1-9999}", "s007", nil}, // no leading zeros in a varying width
		{"S{n:1-9999}", "s10000", nil},
		{"LOT-{lot}/{serial}", "lot-b-2026-07/x17", map[string]string{"lot": "b-2026-07", "serial": "x17"}},
		{"LOT-{lot}/{serial}", "lot-b/c/d", nil}, // tokens hold no "/"
		{"LOT-{lot}/{serial}", "lot-/x", nil},    // empty capture
		{"{a}-{b:00-99}", "x-y-42", map[string]string{"a": "x-y", "b": "42"}},
		{"{a}{b}", "abc", map[string]string{"a": "ab", "b": "c"}}, // longest first
		{"{t}", strings.Repeat("a", 64), map[string]string{"t": strings.Repeat("a", 64)}},
		{"{t}", strings.Repeat("a", 65), nil},
		{"{t}", "ümlaut", nil},
		{"A{{{x}}}", "a{q}", map[string]string{"x": "q"}},
	} {
		p, err := Parse(tc.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.pattern, err)
		}
		got, ok := p.Match(tc.suffix)
		if tc.want == nil {
			if ok {
				t.Errorf("%q matched %q: %v, want no match", tc.pattern, tc.suffix, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q on %q = %v, %v; want %v", tc.pattern, tc.suffix, got, ok, tc.want)
		}
	}
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"PUMP-{s:000000-999999}", "PUMP-{s:000000-999999}", true},
		{"PUMP-{s:000000-999999}", "VALVE-{s:000000-999999}", false},
		{"PUMP-{s:000000-499999}", "PUMP-{s:500000-999999}", false},
		{"PUMP-{s:000000-500000}", "PUMP-{s:500000-999999}", true},
		{"PUMP-{s:000000-999999}", "PUMP-{s:0000-9999}", false}, // widths differ
		{"PUMP-{s:000000-999999}", "PUMP-{x}", true},
		{"PUMP-{x}", "{y}-000001", true},
		{"LOT-{lot}/{serial}", "LOT-{lot}", false}, // "/" only in the first
		{"A{n:1-99}", "A{n:100-999}", false},       // lengths 1-2 and 3
		{"A{n:1-999}", "A{n:100-999}", true},       // varying widths: shapes only
		{"{a}-{b:00-49}", "{a}-{b:50-99}", true},   // tokens: the split may differ
		{"x{a}", "y{a}", false},
	} {
		a, b := mustParse(t, tc.a), mustParse(t, tc.b)
		if got := Overlaps(a, b); got != tc.want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Overlaps(b, a); got != tc.want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

// TestOverlapsAgreesWithMatch: a suffix that matches two patterns proves
// they overlap.
func TestOverlapsAgreesWithMatch(t *testing.T) {
	pats := []string{"P-{s:000-999}", "P-{s:100-199}", "P-{x}", "{y}-001", "P-{n:1-99}", "{a}{b:00-99}"}
	suffixes := []string{"p-001", "p-150", "p-abc", "q-001", "p-7", "x-0042", "p-99"}
	for _, a := range pats {
		for _, b := range pats {
			pa, pb := mustParse(t, a), mustParse(t, b)
			for _, s := range suffixes {
				_, oka := pa.Match(s)
				_, okb := pb.Match(s)
				if oka && okb && !Overlaps(pa, pb) {
					t.Errorf("%q and %q both match %q but Overlaps says no", a, b, s)
				}
			}
		}
	}
}

func TestExpand(t *testing.T) {
	p := mustParse(t, "LOT-{lot}/{serial:0000-9999}")
	caps, ok := p.Match("lot-b7/0042")
	if !ok {
		t.Fatal("no match")
	}
	for _, tc := range []struct{ tmpl, want, err string }{
		{"https://example.com/pumps/{serial}", "https://example.com/pumps/0042", ""},
		{"batch={lot}", "batch=b7", ""},
		{"{lot}{serial}", "b70042", ""},
		{"literal {{x}}", "literal {x}", ""},
		{"{nope}", "", "no capture"},
		{"{lot", "", "not closed"},
		{"a}b", "", "unmatched"},
	} {
		if err := p.CheckTemplate(tc.tmpl); (err != nil) != (tc.err != "") {
			t.Errorf("CheckTemplate(%q) = %v", tc.tmpl, err)
		}
		got, err := p.Expand(tc.tmpl, caps)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) err %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

func mustParse(t testing.TB, s string) *Pattern {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return p
}
