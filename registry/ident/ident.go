// Package ident owns identifier syntax (design §1): parsing, validation,
// normalisation and the lookup key. It knows nothing of storage or the wire.
//
// An identifier is "prefix/suffix". Only the first "/" separates, so the
// suffix may itself contain "/". The prefix is 1 to 16 dot-separated segments
// of [A-Za-z0-9_-] (1 to 63 characters, not starting or ending with "-"). The
// suffix is 1 to 1024 bytes of UTF-8 without control characters and is
// NFC-normalised. Comparison folds ASCII case only; the registrant's spelling
// is kept for display.
package ident

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits from design §1.
const (
	MaxSegments      = 16
	MaxSegmentLen    = 63
	MaxSuffixLen     = 1024
	MaxIdentifierLen = 1280
)

// PrefixHandlePrefix is the prefix of the Handle-style prefix handle
// "0.NA/<prefix>", which names a prefix's own service record.
const PrefixHandlePrefix = "0.NA"

// ID is a parsed, NFC-normalised identifier in the registrant's spelling.
type ID struct {
	Prefix string
	Suffix string
}

// String formats the identifier as "prefix/suffix".
func (id ID) String() string { return id.Prefix + "/" + id.Suffix }

// Key is the lookup key: the NFC form with ASCII letters lowercased. The
// suffix is NFC-normalised again after folding: an ASCII capital followed by
// a combining mark may have no precomposed form while its lowercase has one
// ("J\u030c" folds to "j\u030c", whose NFC is "\u01f0"), so the key is
// itself a normalised identifier and Parse(id.Key()).Key() == id.Key().
func (id ID) Key() string { return Fold(id.Prefix) + "/" + norm.NFC.String(Fold(id.Suffix)) }

// PrefixKey is the lookup key of the identifier's prefix.
func (id ID) PrefixKey() string { return Fold(id.Prefix) }

// IsPrefixHandle reports whether id is "0.NA/<prefix>".
func (id ID) IsPrefixHandle() bool { return strings.EqualFold(id.Prefix, PrefixHandlePrefix) }

// Error says what is wrong with an identifier and where.
type Error struct {
	Input string // what was given (cut to 64 bytes in Error)
	Part  string // "identifier", "prefix" or "suffix"
	Pos   int    // byte offset into Input of the offending part
	Msg   string
}

func (e *Error) Error() string {
	in := e.Input
	if len(in) > 64 {
		in = in[:64] + "…"
	}
	return fmt.Sprintf("invalid identifier %q: %s at byte %d: %s", in, e.Part, e.Pos, e.Msg)
}

// Parse validates and normalises s. Errors are *Error.
func Parse(s string) (ID, error) {
	fail := func(part string, pos int, format string, args ...any) (ID, error) {
		return ID{}, &Error{Input: s, Part: part, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("identifier", 0, "empty")
	}
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		return fail("identifier", 0, `no "/" between prefix and suffix`)
	}
	prefix, suffix := s[:slash], s[slash+1:]
	if err := checkPrefix(s, prefix, 0); err != nil {
		return ID{}, err
	}
	if suffix == "" {
		return fail("suffix", slash+1, "empty")
	}
	if !utf8.ValidString(suffix) {
		for i := 0; i < len(suffix); {
			r, size := utf8.DecodeRuneInString(suffix[i:])
			if r == utf8.RuneError && size <= 1 {
				return fail("suffix", slash+1+i, "invalid UTF-8")
			}
			i += size
		}
	}
	for i, r := range suffix {
		if isControl(r) {
			return fail("suffix", slash+1+i, "control character %U not allowed", r)
		}
		if isInvisible(r) {
			return fail("suffix", slash+1+i, "invisible or bidirectional-control character %U not allowed", r)
		}
	}
	suffix = norm.NFC.String(suffix)
	if len(suffix) > MaxSuffixLen {
		return fail("suffix", slash+1, "%d bytes, more than %d", len(suffix), MaxSuffixLen)
	}
	if n := len(prefix) + 1 + len(suffix); n > MaxIdentifierLen {
		return fail("identifier", 0, "%d bytes, more than %d", n, MaxIdentifierLen)
	}
	return ID{Prefix: prefix, Suffix: suffix}, nil
}

// MustParse is Parse for literals known to be valid; it panics otherwise.
func MustParse(s string) ID {
	id, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

// ParsePrefix validates a prefix on its own. The empty string is the root
// prefix and is valid here.
func ParsePrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if err := checkPrefix(p, p, 0); err != nil {
		return "", err
	}
	return p, nil
}

// checkPrefix validates prefix, which starts at byte off of input.
func checkPrefix(input, prefix string, off int) error {
	fail := func(pos int, format string, args ...any) error {
		return &Error{Input: input, Part: "prefix", Pos: off + pos, Msg: fmt.Sprintf(format, args...)}
	}
	if prefix == "" {
		return fail(0, "empty")
	}
	segments, start := 0, 0
	for i := 0; i <= len(prefix); i++ {
		if i < len(prefix) && prefix[i] != '.' {
			c := prefix[i]
			if !isSegmentByte(c) {
				if c >= utf8.RuneSelf {
					r, _ := utf8.DecodeRuneInString(prefix[i:])
					return fail(i, "character %q not allowed (only A-Z a-z 0-9 _ -)", r)
				}
				return fail(i, "character %q not allowed (only A-Z a-z 0-9 _ -)", c)
			}
			continue
		}
		segments++
		seg := prefix[start:i]
		switch {
		case segments > MaxSegments:
			return fail(start, "more than %d segments", MaxSegments)
		case seg == "":
			return fail(start, "segment %d is empty", segments)
		case len(seg) > MaxSegmentLen:
			return fail(start, "segment %d is %d characters, more than %d", segments, len(seg), MaxSegmentLen)
		case seg[0] == '-':
			return fail(start, "segment %d starts with '-'", segments)
		case seg[len(seg)-1] == '-':
			return fail(i-1, "segment %d ends with '-'", segments)
		}
		start = i + 1
	}
	return nil
}

func isSegmentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }

// isInvisible reports format characters (Cf: zero-width spaces and
// joiners, the bidirectional controls U+202A..U+202E and U+2066..U+2069,
// the BOM, the soft hyphen) and the other default-ignorable code points
// (Hangul fillers and the like). UTS #39 restricts them in identifiers:
// they make two identifiers that look alike differ, and U+202E makes one
// read backwards.
func isInvisible(r rune) bool {
	return r >= 0xad && (unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r))
}

// Fold lowercases ASCII letters only; non-ASCII compares exactly after NFC.
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Parent returns the prefix one level up: "88.100" for "88.100.1", and the
// root "" for a single-segment prefix such as "88". It returns false only for
// the root itself, which has no parent.
func Parent(prefix string) (string, bool) {
	i := strings.LastIndexByte(prefix, '.')
	if i < 0 {
		return "", prefix != ""
	}
	return prefix[:i], true
}

// Ancestors lists prefix and each ancestor, deepest first, ending with the
// root "": "88.100.1" gives ["88.100.1", "88.100", "88", ""].
func Ancestors(prefix string) []string {
	out := []string{prefix}
	for p := prefix; p != ""; {
		p, _ = Parent(p)
		out = append(out, p)
	}
	return out
}

// Covers reports whether ancestor is prefix or one of its ancestors (both
// folded). The root "" covers everything.
func Covers(ancestor, prefix string) bool {
	return ancestor == "" || prefix == ancestor || strings.HasPrefix(prefix, ancestor) && prefix[len(ancestor)] == '.'
}
