package ident_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/idres/idres/registry/ident"
)

// prefixOfLen builds a valid prefix of exactly n bytes (1 <= n <= 1023):
// segments of up to 63 'a's joined by dots.
func prefixOfLen(n int) string {
	var b strings.Builder
	for {
		switch r := n - b.Len(); {
		case r <= ident.MaxSegmentLen:
			b.WriteString(strings.Repeat("a", r))
			return b.String()
		case r == ident.MaxSegmentLen+1: // 63 + "." would leave nothing
			b.WriteString(strings.Repeat("a", ident.MaxSegmentLen-1) + ".")
		default:
			b.WriteString(strings.Repeat("a", ident.MaxSegmentLen) + ".")
		}
	}
}

// segments joins n copies of seg with dots.
func segments(n int, seg string) string {
	return strings.TrimSuffix(strings.Repeat(seg+".", n), ".")
}

func TestPrefixOfLen(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 127, 128, 255, 256, 1022, 1023} {
		p := prefixOfLen(n)
		if len(p) != n {
			t.Fatalf("prefixOfLen(%d) has %d bytes", n, len(p))
		}
		if _, err := ident.ParsePrefix(p); err != nil {
			t.Fatalf("prefixOfLen(%d) is not a valid prefix: %v", n, err)
		}
	}
}

func TestParseValid(t *testing.T) {
	seg63 := strings.Repeat("z", 63)
	tests := []struct {
		name   string
		in     string
		prefix string
		suffix string // NFC form expected back
	}{
		{"basic", "88.100.1/PUMP-0042", "88.100.1", "PUMP-0042"},
		{"single segment", "88/x", "88", "x"},
		{"only first slash separates", "88.100/a/b/c", "88.100", "a/b/c"},
		{"suffix is a slash", "88//", "88", "/"},
		{"suffix ends with slash", "88/a//b/", "88", "a//b/"},
		{"spaces kept", "88/ pump 42 ", "88", " pump 42 "},
		{"chinese", "86.1000/泵-0042", "86.1000", "泵-0042"},
		{"emoji", "88/🚀📦", "88", "🚀📦"},
		{"replacement char itself is valid", "88/\ufffd", "88", "\ufffd"},
		{"NBSP just after C1", "88/a\u00a0b", "88", "a\u00a0b"},
		{"printable ASCII punctuation", "88/!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~", "88", "!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~"},
		{"underscore and inner dash in prefix", "a_b.c-d.0_-9/x", "a_b.c-d.0_-9", "x"},
		{"underscore alone", "_/x", "_", "x"},
		{"prefix spelling kept", "AB.Cd/PuMp", "AB.Cd", "PuMp"},
		{"prefix handle", "0.NA/88.100", "0.NA", "88.100"},
		{"16 segments", segments(16, "1") + "/x", segments(16, "1"), "x"},
		{"63-char segment", "88." + seg63 + "/x", "88." + seg63, "x"},
		{"16 segments of 63", segments(16, seg63) + "/x", segments(16, seg63), "x"},
		{"1024-byte suffix", "88/" + strings.Repeat("s", 1024), "88", strings.Repeat("s", 1024)},
		{"1024-byte multibyte suffix", "88/" + strings.Repeat("泵", 341) + "x", "88", strings.Repeat("泵", 341) + "x"},
		{"1280-byte identifier", prefixOfLen(255) + "/" + strings.Repeat("s", 1024), prefixOfLen(255), strings.Repeat("s", 1024)},
		{"1280-byte identifier, short suffix", prefixOfLen(1023) + "/" + strings.Repeat("s", 256), prefixOfLen(1023), strings.Repeat("s", 256)},
		{"NFC composes", "88/e\u0301", "88", "\u00e9"},
		{"NFC reorders marks", "88/a\u0301\u0323", "88", "\u1ea1\u0301"},
		{"NFC singleton (Kelvin sign)", "88/\u212a", "88", "K"},
		{"NFC hangul", "88/\u1100\u1161", "88", "\uac00"},
		// Limits apply to the stored, NFC form: 1200 bytes of "e"+U+0301
		// compose to 800 bytes of U+00E9.
		{"long input, short after NFC", "88/" + strings.Repeat("e\u0301", 400), "88", strings.Repeat("\u00e9", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ident.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%+.80q): %v", tt.in, err)
			}
			if id.Prefix != tt.prefix || id.Suffix != tt.suffix {
				t.Fatalf("Parse(%+.80q) = {%+.80q, %+.80q}, want {%+.80q, %+.80q}", tt.in, id.Prefix, id.Suffix, tt.prefix, tt.suffix)
			}
			if got, want := id.String(), tt.prefix+"/"+tt.suffix; got != want {
				t.Errorf("String() = %+.80q, want %+.80q", got, want)
			}
			again, err := ident.Parse(id.String())
			if err != nil || again != id {
				t.Errorf("Parse(String()) = %+v, %v; want %+v", again, err, id)
			}
			k, err := ident.Parse(id.Key())
			if err != nil {
				t.Fatalf("Parse(Key()=%+.80q): %v", id.Key(), err)
			}
			if k.Key() != id.Key() {
				t.Errorf("Key not stable: Parse(%+.80q).Key() = %+.80q", id.Key(), k.Key())
			}
			if got := ident.MustParse(tt.in); got != id {
				t.Errorf("MustParse = %+v, want %+v", got, id)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	seg64 := strings.Repeat("z", 64)
	tests := []struct {
		name string
		in   string
		part string
		pos  int
		msg  string // substring of Error(), optional
	}{
		{"empty", "", "identifier", 0, "empty"},
		{"no slash", "88.100.1", "identifier", 0, `no "/"`},
		{"no slash, suffix-like", "PUMP-0042", "identifier", 0, `no "/"`},
		{"empty prefix", "/PUMP-0042", "prefix", 0, "empty"},
		{"only a slash", "/", "prefix", 0, "empty"},
		{"empty suffix", "88.100/", "suffix", 7, "empty"},
		{"empty middle segment", "88..1/x", "prefix", 3, "segment 2 is empty"},
		{"empty first segment", ".88/x", "prefix", 0, "segment 1 is empty"},
		{"empty last segment", "88./x", "prefix", 3, "segment 2 is empty"},
		{"only a dot", "./x", "prefix", 0, "segment 1 is empty"},
		{"leading dash", "-88/x", "prefix", 0, "starts with '-'"},
		{"trailing dash", "88-/x", "prefix", 2, "ends with '-'"},
		{"leading dash, later segment", "88.-1/x", "prefix", 3, "segment 2 starts with '-'"},
		{"trailing dash, later segment", "88.1-/x", "prefix", 4, "segment 2 ends with '-'"},
		{"dash alone", "88.-/x", "prefix", 3, "starts with '-'"},
		{"space in prefix", "8 8/x", "prefix", 1, "not allowed"},
		{"bang in prefix", "88.1a!/x", "prefix", 5, "not allowed"},
		{"colon in prefix", "88:1/x", "prefix", 2, "not allowed"},
		{"plus in prefix", "88+1/x", "prefix", 2, "not allowed"},
		{"control in prefix", "8\x008/x", "prefix", 1, "not allowed"},
		{"chinese prefix", "泵/x", "prefix", 0, "'泵' not allowed"},
		{"accented prefix", "88.é/x", "prefix", 3, "'é' not allowed"},
		{"fullwidth digit prefix", "８８/x", "prefix", 0, "not allowed"},
		{"invalid UTF-8 in prefix", "88.\xff/x", "prefix", 3, "not allowed"},
		{"char error before segment length", "88." + seg64 + "!/x", "prefix", 67, "not allowed"},
		{"17 segments", segments(17, "1") + "/x", "prefix", 32, "more than 16 segments"},
		{"17 segments, last empty", segments(16, "1") + "./x", "prefix", 32, "more than 16 segments"},
		{"64-char segment", "88." + seg64 + "/x", "prefix", 3, "segment 2 is 64 characters"},
		{"64-char first segment", seg64 + "/x", "prefix", 0, "segment 1 is 64 characters"},
		{"prefix errors come first", "8!/\x00", "prefix", 1, "not allowed"},
		{"1025-byte suffix", "88/" + strings.Repeat("s", 1025), "suffix", 3, "1025 bytes, more than 1024"},
		{"1025-byte multibyte suffix", "88/" + strings.Repeat("泵", 341) + "xx", "suffix", 3, "1025 bytes"},
		// U+0958 has no NFC composition: it becomes two runes, 3 -> 6 bytes.
		{"suffix too long after NFC", "88/" + strings.Repeat("\u0958", 300), "suffix", 3, "1800 bytes"},
		{"1281-byte identifier", prefixOfLen(256) + "/" + strings.Repeat("s", 1024), "identifier", 0, "1281 bytes, more than 1280"},
		{"1281-byte identifier, long prefix", prefixOfLen(1023) + "/" + strings.Repeat("s", 257), "identifier", 0, "1281 bytes"},
		{"NUL", "88/a\x00b", "suffix", 4, "U+0000"},
		{"tab", "88/\t", "suffix", 3, "U+0009"},
		{"newline", "88/PUMP\n", "suffix", 7, "U+000A"},
		{"CR", "88/a\rb", "suffix", 4, "U+000D"},
		{"unit separator", "88/\x1f", "suffix", 3, "U+001F"},
		{"escape", "88/\x1b[0m", "suffix", 3, "U+001B"},
		{"DEL", "88/x\x7f", "suffix", 4, "U+007F"},
		{"C1 first", "88/\u0080", "suffix", 3, "U+0080"},
		{"C1 NEL", "88/ab\u0085", "suffix", 5, "U+0085"},
		{"C1 last", "88/\u009f", "suffix", 3, "U+009F"},
		{"control after multibyte", "88/泵\x01", "suffix", 6, "U+0001"},
		{"zero-width space", "88/PUMP\u200b-0042", "suffix", 7, "U+200B"},
		{"right-to-left override", "88/txt.\u202eexe", "suffix", 7, "bidirectional-control character U+202E"},
		{"left-to-right isolate", "88/a\u2066b", "suffix", 4, "U+2066"},
		{"arabic letter mark", "88/a\u061cb", "suffix", 4, "U+061C"},
		{"zero-width joiner", "88/a\u200db", "suffix", 4, "U+200D"},
		{"byte order mark", "88/\ufeffPUMP", "suffix", 3, "U+FEFF"},
		{"soft hyphen", "88/PUMP\u00ad1", "suffix", 7, "U+00AD"},
		{"word joiner", "88/a\u2060b", "suffix", 4, "U+2060"},
		{"hangul filler", "88/\u3164", "suffix", 3, "U+3164"},
		{"control after suffix slash", "88.1/a/\x00", "suffix", 7, "U+0000"},
		{"invalid UTF-8 byte", "88/ab\xff", "suffix", 5, "invalid UTF-8"},
		{"truncated rune", "88/\xc3", "suffix", 3, "invalid UTF-8"},
		{"truncated rune mid suffix", "88/a\xe6\xb3b", "suffix", 4, "invalid UTF-8"},
		{"surrogate", "88/a\xed\xa0\x80", "suffix", 4, "invalid UTF-8"},
		{"overlong slash", "88/\xc0\xaf", "suffix", 3, "invalid UTF-8"},
		{"beyond U+10FFFF", "88/\xf4\x90\x80\x80", "suffix", 3, "invalid UTF-8"},
		{"invalid UTF-8 before control", "88/\xff\x00", "suffix", 3, "invalid UTF-8"},
		{"control before invalid UTF-8", "88/\x00\xff", "suffix", 4, "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ident.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%+.80q) = %+v, want error", tt.in, id)
			}
			if id != (ident.ID{}) {
				t.Errorf("Parse returned %+v with its error, want zero ID", id)
			}
			var e *ident.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T (%v) is not *ident.Error", err, err)
			}
			if e.Part != tt.part || e.Pos != tt.pos {
				t.Errorf("Parse(%+.80q): Part %q Pos %d, want Part %q Pos %d (%v)", tt.in, e.Part, e.Pos, tt.part, tt.pos, err)
			}
			if e.Input != tt.in {
				t.Errorf("Input = %+.80q, want %+.80q", e.Input, tt.in)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.part) {
				t.Errorf("Error() = %q does not name the part %q", msg, tt.part)
			}
			if want := fmt.Sprintf("at byte %d", tt.pos); !strings.Contains(msg, want) {
				t.Errorf("Error() = %q does not say %q", msg, want)
			}
			if tt.msg != "" && !strings.Contains(msg, tt.msg) {
				t.Errorf("Error() = %q, want it to contain %q", msg, tt.msg)
			}
			// The control character check, the whole error check (there
			// is control in C1 above) etc. must not cause the message
			// itself to contain raw control bytes or invalid UTF-8.
			for _, r := range msg {
				if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
					t.Errorf("Error() = %q contains control character %U", msg, r)
				}
			}
		})
	}
}

func TestErrorCutsLongInput(t *testing.T) {
	in := "88/" + strings.Repeat("x", 2000)
	_, err := ident.Parse(in)
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	if strings.Contains(msg, strings.Repeat("x", 62)) {
		t.Errorf("Error() quotes more than 64 bytes of input: %.120q", msg)
	}
	if !strings.Contains(msg, "88/"+strings.Repeat("x", 61)+"…") {
		t.Errorf("Error() = %.200q, want the first 64 bytes and an ellipsis", msg)
	}
	if len(msg) > 300 {
		t.Errorf("Error() is %d bytes long", len(msg))
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("MustParse of an invalid identifier did not panic")
		}
		if _, ok := r.(*ident.Error); !ok {
			t.Errorf("MustParse panicked with %T, want *ident.Error", r)
		}
	}()
	ident.MustParse("88..1/x")
}

func TestKeyAndSpelling(t *testing.T) {
	tests := []struct {
		in, str, key, prefixKey string
	}{
		{"88.100.1/PUMP-0042", "88.100.1/PUMP-0042", "88.100.1/pump-0042", "88.100.1"},
		{"88/PUMP", "88/PUMP", "88/pump", "88"},
		{"AB.Cd/PuMp", "AB.Cd/PuMp", "ab.cd/pump", "ab.cd"},
		{"0.NA/AB.Cd", "0.NA/AB.Cd", "0.na/ab.cd", "0.na"},
		{"88/e\u0301", "88/\u00e9", "88/\u00e9", "88"},
		{"88/E\u0301", "88/\u00c9", "88/\u00c9", "88"}, // É is not ASCII: kept
		{"88/İSTANBUL", "88/İSTANBUL", "88/İstanbul", "88"},
		{"88/ÄBC", "88/ÄBC", "88/Äbc", "88"},
		{"88/ß-SS", "88/ß-SS", "88/ß-ss", "88"},
		{"88/ΣΊΣΥΦΟΣ", "88/ΣΊΣΥΦΟΣ", "88/ΣΊΣΥΦΟΣ", "88"},
		{"88/ＰＵＭＰ", "88/ＰＵＭＰ", "88/ＰＵＭＰ", "88"}, // fullwidth: not ASCII
		{"88/泵-A", "88/泵-A", "88/泵-a", "88"},
		{"88/\u212a", "88/K", "88/k", "88"},
		// J+caron has no precomposed capital; its lowercase is U+01F0.
		// The key is NFC after folding, so it is a valid, stable key.
		{"88/J\u030c", "88/J\u030c", "88/\u01f0", "88"},
		{"88/T\u0308EST", "88/T\u0308EST", "88/\u1e97est", "88"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id := ident.MustParse(tt.in)
			if got := id.String(); got != tt.str {
				t.Errorf("String() = %+q, want %+q", got, tt.str)
			}
			if got := id.Key(); got != tt.key {
				t.Errorf("Key() = %+q, want %+q", got, tt.key)
			}
			if got := id.PrefixKey(); got != tt.prefixKey {
				t.Errorf("PrefixKey() = %+q, want %+q", got, tt.prefixKey)
			}
			k, err := ident.Parse(id.Key())
			if err != nil {
				t.Fatalf("Parse(Key()): %v", err)
			}
			if k.String() != id.Key() || k.Key() != id.Key() {
				t.Errorf("Parse(%+q) = %+q with key %+q; a key must parse to itself", id.Key(), k.String(), k.Key())
			}
		})
	}
}

func TestKeyComparison(t *testing.T) {
	same := [][2]string{
		{"88.100/PUMP-42", "88.100/pump-42"},
		{"AB.cd/x", "ab.CD/X"},
		{"0.NA/88", "0.na/88"},
		{"88/e\u0301", "88/\u00e9"},
		{"88/E\u0301", "88/\u00c9"},
		{"88/\u212a", "88/k"},
		{"88/J\u030c", "88/\u01f0"},
		{"88/J\u030c", "88/j\u030c"},
		{"88/A\u030a", "88/\u212b"}, // Angstrom sign is Å after NFC
	}
	for _, p := range same {
		a, b := ident.MustParse(p[0]), ident.MustParse(p[1])
		if a.Key() != b.Key() {
			t.Errorf("Key(%+q) = %+q, Key(%+q) = %+q; want equal", p[0], a.Key(), p[1], b.Key())
		}
	}
	differ := [][2]string{
		{"88/Ä", "88/ä"},
		{"88/İ", "88/i"},
		{"88/\u00c9", "88/\u00e9"},
		{"88/A\u030a", "88/a\u030a"}, // Å and å after NFC: non-ASCII, exact
		{"88/a", "88/a "},
		{"88/ＡＢ", "88/AB"},
		{"88.1/x", "88/1/x"},
		{"88/x", "88.0/x"},
	}
	for _, p := range differ {
		a, b := ident.MustParse(p[0]), ident.MustParse(p[1])
		if a.Key() == b.Key() {
			t.Errorf("Key(%+q) == Key(%+q) == %+q; want different", p[0], p[1], a.Key())
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"pump", "pump"},
		{"PUMP", "pump"},
		{"Az@[`{", "az@[`{"},
		{"ÄİÉ", "ÄİÉ"},
		{"x泵Y", "x泵y"},
		{"\xffA", "\xffa"},
	}
	for _, tt := range tests {
		if got := ident.Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
	}
}

func TestIsPrefixHandle(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0.NA/88", true},
		{"0.NA/88.100.1", true},
		{"0.na/88", true},
		{"0.Na/88", true},
		{"0.NA.1/88", false},
		{"1.0.NA/88", false},
		{"0/NA", false},
		{"88/0.NA", false},
		{"88/0.NA/88", false},
		{"88.100.1/PUMP-0042", false},
	}
	for _, tt := range tests {
		if got := ident.MustParse(tt.in).IsPrefixHandle(); got != tt.want {
			t.Errorf("IsPrefixHandle(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	valid := []string{
		"", // the root
		"88",
		"88.100",
		"88.100.1",
		"0.NA",
		"Ab_c.D-e",
		segments(16, "9"),
		segments(16, strings.Repeat("q", 63)),
	}
	for _, p := range valid {
		got, err := ident.ParsePrefix(p)
		if err != nil || got != p {
			t.Errorf("ParsePrefix(%.40q) = %.40q, %v; want it back", p, got, err)
		}
	}
	invalid := []struct {
		in  string
		pos int
	}{
		{".", 0},
		{"88.", 3},
		{".88", 0},
		{"88..1", 3},
		{"88/1", 2},
		{"88.100/PUMP", 6},
		{"-1", 0},
		{"1-", 1},
		{"1.-", 2},
		{"泵", 0},
		{"88.泵", 3},
		{"8 8", 1},
		{"\x00", 0},
		{segments(17, "1"), 32},
		{strings.Repeat("a", 64), 0},
		{"1." + strings.Repeat("a", 64), 2},
	}
	for _, tt := range invalid {
		got, err := ident.ParsePrefix(tt.in)
		if err == nil {
			t.Errorf("ParsePrefix(%.40q) = %q, want error", tt.in, got)
			continue
		}
		if got != "" {
			t.Errorf("ParsePrefix(%.40q) returned %q with its error", tt.in, got)
		}
		var e *ident.Error
		if !errors.As(err, &e) {
			t.Errorf("ParsePrefix(%.40q): error %T is not *ident.Error", tt.in, err)
			continue
		}
		if e.Part != "prefix" || e.Pos != tt.pos || e.Input != tt.in {
			t.Errorf("ParsePrefix(%.40q): Part %q Pos %d Input %.40q; want prefix, %d, the input", tt.in, e.Part, e.Pos, e.Input, tt.pos)
		}
		if !strings.Contains(err.Error(), "prefix") {
			t.Errorf("Error() = %q does not name the prefix", err)
		}
	}
}

func TestParent(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"88.100.1", "88.100", true},
		{"88.100", "88", true},
		{"88", "", true}, // a single segment's parent is the root
		{"", "", false},  // the root has no parent
		{"a.B.c", "a.B", true},
	}
	for _, tt := range tests {
		got, ok := ident.Parent(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Parent(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAncestors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"88.100.1", []string{"88.100.1", "88.100", "88", ""}},
		{"88", []string{"88", ""}},
		{"", []string{""}},
		{segments(16, "1"), func() []string {
			var out []string
			for n := 16; n > 0; n-- {
				out = append(out, segments(n, "1"))
			}
			return append(out, "")
		}()},
	}
	for _, tt := range tests {
		if got := ident.Ancestors(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Ancestors(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		ancestor, prefix string
		want             bool
	}{
		{"", "", true},
		{"", "88", true},
		{"", "88.100.1", true},
		{"88", "88", true},
		{"88", "88.100", true},
		{"88", "88.100.1", true},
		{"88.100", "88.100.1", true},
		{"88.100.1", "88.100.1", true},
		{"88", "", false},
		{"88.100", "88", false},
		{"88.100.1", "88.100", false},
		{"88.1", "88.100", false}, // string prefix, not a segment prefix
		{"8", "88", false},
		{"88", "880.1", false},
		{"86", "88.100", false},
		{"88.100", "88.1000", false},
		{"100", "88.100", false},
	}
	for _, tt := range tests {
		if got := ident.Covers(tt.ancestor, tt.prefix); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.ancestor, tt.prefix, got, tt.want)
		}
	}
	// Every ancestor covers; nothing deeper does.
	for _, p := range []string{"88.100.1", segments(16, "7")} {
		for _, a := range ident.Ancestors(p) {
			if !ident.Covers(a, p) {
				t.Errorf("Covers(%q, %q) = false for an ancestor", a, p)
			}
		}
		if ident.Covers(p+".1", p) {
			t.Errorf("Covers(%q, %q) = true for a child", p+".1", p)
		}
	}
}
