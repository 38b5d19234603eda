package ident_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idres/idres/registry/ident"
)

// Run with: go test -run '^$' -fuzz '^FuzzParse$' ./registry/ident
// (the prefix target is named FuzzPrefix, not FuzzParsePrefix, so that
// -fuzz FuzzParse, as in the Makefile, matches exactly one target).

var fuzzSeeds = []string{
	"",
	"/",
	"88",
	"88/",
	"/x",
	"88.100.1/PUMP-0042",
	"88.100/a/b/c",
	"88//",
	"88/ pump 42 ",
	"86.1000/泵-0042",
	"88/🚀📦",
	"0.NA/88.100",
	"0.na/AB.cd",
	"AB.Cd/PuMp",
	"a_b.c-d/x",
	"88..1/x",
	".88/x",
	"88./x",
	"-88/x",
	"88-/x",
	"88.é/x",
	"泵/x",
	"88.\xff/x",
	"88/e\u0301",
	"88/E\u0301\u0323",
	"88/\u212a",
	"88/\u212b",
	"88/İSTANBUL",
	"88/ÄBC",
	"88/\u0958",
	"88/\u1100\u1161",
	"88/a\x00b",
	"88/\t",
	"88/x\x7f",
	"88/\u0085",
	"88/\u009f",
	"88/\u00a0",
	"88/ab\xff",
	"88/\xc3",
	"88/\xed\xa0\x80",
	"88/\xc0\xaf",
	"88/\ufffd",
	strings.Repeat("1.", 15) + "1/x",
	strings.Repeat("1.", 16) + "1/x",
	strings.Repeat("a", 63) + "/x",
	strings.Repeat("a", 64) + "/x",
	"88/" + strings.Repeat("s", 1024),
	"88/" + strings.Repeat("s", 1025),
	"88/" + strings.Repeat("e\u0301", 400),
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ident.Parse(s)
		if err != nil {
			checkError(t, err, s, "identifier", "prefix", "suffix")
			return
		}

		// The prefix is taken verbatim from the input; only the suffix is
		// normalised.
		if !strings.HasPrefix(s, id.Prefix+"/") {
			t.Fatalf("Parse(%+q): prefix %+q is not the input's", s, id.Prefix)
		}
		if p, err := ident.ParsePrefix(id.Prefix); err != nil || p != id.Prefix || p == "" {
			t.Fatalf("Parse(%+q) accepted prefix %+q that ParsePrefix rejects: %v", s, id.Prefix, err)
		}
		checkSuffix(t, s, id.Suffix)
		if n := len(id.String()); n > ident.MaxIdentifierLen {
			t.Fatalf("Parse(%+q) accepted %d bytes", s, n)
		}

		// String round-trips.
		again, err := ident.Parse(id.String())
		if err != nil {
			t.Fatalf("Parse(String()=%+q): %v", id.String(), err)
		}
		if again != id {
			t.Fatalf("Parse(String()) = %+v, want %+v", again, id)
		}

		// The key is itself a valid identifier, in normal form, and stable.
		key := id.Key()
		k, err := ident.Parse(key)
		if err != nil {
			t.Fatalf("Parse(Key()=%+q) of %+q: %v", key, s, err)
		}
		if k.Key() != key {
			t.Fatalf("Key not stable for %+q: Key %+q, Parse(Key).Key %+q", s, key, k.Key())
		}
		if k.String() != key {
			t.Fatalf("Parse(Key()=%+q).String() = %+q; a key must be in normal form", key, k.String())
		}
		if k.Prefix != id.PrefixKey() {
			t.Fatalf("PrefixKey %+q, but the key's prefix is %+q", id.PrefixKey(), k.Prefix)
		}
		if ident.Fold(key) != key {
			t.Fatalf("Key %+q has upper-case ASCII", key)
		}
		if strings.ToLower(id.Prefix) != id.PrefixKey() {
			t.Fatalf("PrefixKey(%q) = %q", id.Prefix, id.PrefixKey())
		}

		if got, want := id.IsPrefixHandle(), strings.EqualFold(id.Prefix, "0.NA"); got != want {
			t.Fatalf("IsPrefixHandle(%+q) = %v", id.String(), got)
		}
		checkHierarchy(t, id.PrefixKey())
	})
}

func FuzzPrefix(f *testing.F) {
	for _, s := range []string{
		"", "88", "88.100", "88.100.1", "0.NA", "Ab_c.D-e", ".", "..", "88.",
		".88", "88..1", "88/1", "-1", "1-", "a-b", "泵", "\xff", "\x00",
		strings.Repeat("1.", 15) + "1",
		strings.Repeat("1.", 16) + "1",
		strings.Repeat("a", 63),
		strings.Repeat("a", 64),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := ident.ParsePrefix(p)
		if err != nil {
			if got != "" {
				t.Fatalf("ParsePrefix(%+q) returned %+q with its error", p, got)
			}
			checkError(t, err, p, "prefix")
			// Outside Parse, a prefix without "/" fails in the same place.
			if p != "" && !strings.Contains(p, "/") {
				_, err2 := ident.Parse(p + "/x")
				var e, e2 *ident.Error
				if !errors.As(err2, &e2) || !errors.As(err, &e) || e2.Part != "prefix" || e2.Pos != e.Pos {
					t.Fatalf("ParsePrefix(%+q): %v; but Parse(p+\"/x\"): %v", p, err, err2)
				}
			}
			return
		}
		if got != p {
			t.Fatalf("ParsePrefix(%+q) = %+q", p, got)
		}
		if len(p) > ident.MaxSegments*(ident.MaxSegmentLen+1)-1 {
			t.Fatalf("ParsePrefix accepted %d bytes", len(p))
		}
		if p != "" {
			id, err := ident.Parse(p + "/x")
			if err != nil || id.Prefix != p {
				t.Fatalf("ParsePrefix(%+q) ok but Parse(p+\"/x\") = %+v, %v", p, id, err)
			}
			for _, seg := range strings.Split(p, ".") {
				if seg == "" || len(seg) > ident.MaxSegmentLen || seg[0] == '-' || seg[len(seg)-1] == '-' {
					t.Fatalf("ParsePrefix(%+q) accepted segment %+q", p, seg)
				}
			}
		}
		checkHierarchy(t, ident.Fold(p))
	})
}

// checkError checks that err is an *ident.Error about input, for one of
// parts, positioned inside the input, whose message names the part.
func checkError(t *testing.T, err error, input string, parts ...string) {
	t.Helper()
	var e *ident.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T (%v) for %+q is not *ident.Error", err, err, input)
	}
	if e.Input != input {
		t.Fatalf("Error.Input = %+q, want %+q", e.Input, input)
	}
	known := false
	for _, p := range parts {
		known = known || e.Part == p
	}
	if !known {
		t.Fatalf("Error.Part = %q for %+q, want one of %q", e.Part, input, parts)
	}
	if e.Pos < 0 || e.Pos > len(input) {
		t.Fatalf("Error.Pos = %d outside %+q (%v)", e.Pos, input, err)
	}
	msg := e.Error()
	if !strings.Contains(msg, e.Part) || !utf8.ValidString(msg) {
		t.Fatalf("Error() = %+q", msg)
	}
}

// checkSuffix checks the invariants of a parsed suffix.
func checkSuffix(t *testing.T, input, suffix string) {
	t.Helper()
	if suffix == "" || len(suffix) > ident.MaxSuffixLen {
		t.Fatalf("Parse(%+q): suffix of %d bytes", input, len(suffix))
	}
	if !utf8.ValidString(suffix) {
		t.Fatalf("Parse(%+q): suffix %+q is not UTF-8", input, suffix)
	}
	if !norm.NFC.IsNormalString(suffix) {
		t.Fatalf("Parse(%+q): suffix %+q is not NFC", input, suffix)
	}
	for _, r := range suffix {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
			t.Fatalf("Parse(%+q): suffix has control character %U", input, r)
		}
	}
}

// checkHierarchy checks Parent, Ancestors and Covers on a valid, folded prefix.
func checkHierarchy(t *testing.T, p string) {
	t.Helper()
	anc := ident.Ancestors(p)
	want := 1
	if p != "" {
		want = strings.Count(p, ".") + 2
	}
	if len(anc) != want || anc[0] != p || anc[len(anc)-1] != "" {
		t.Fatalf("Ancestors(%q) = %q", p, anc)
	}
	for i, a := range anc {
		if !ident.Covers(a, p) {
			t.Fatalf("Covers(%q, %q) = false for an ancestor", a, p)
		}
		parent, ok := ident.Parent(a)
		if ok != (a != "") {
			t.Fatalf("Parent(%q) ok = %v", a, ok)
		}
		if ok && parent != anc[i+1] {
			t.Fatalf("Parent(%q) = %q, Ancestors says %q", a, parent, anc[i+1])
		}
		if a != p && ident.Covers(p, a) {
			t.Fatalf("Covers(%q, %q) = true for a descendant over its ancestor", p, a)
		}
		if a != "" {
			if _, err := ident.ParsePrefix(a); err != nil {
				t.Fatalf("ancestor %q of %q is not a valid prefix: %v", a, p, err)
			}
		}
	}
	if child := p + ".x"; p != "" && (!ident.Covers(p, child) || ident.Covers(child, p)) {
		t.Fatalf("Covers wrong between %q and its child", p)
	}
	if sibling := p + "0"; p != "" && (ident.Covers(p, sibling) || ident.Covers(sibling, p)) {
		t.Fatalf("Covers(%q, %q) confuses a string prefix with a parent", p, sibling)
	}
}
