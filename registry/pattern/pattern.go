// Package pattern parses and matches identifier suffix patterns, such as
// "PUMP-{serial:000000-999999}" or "LOT-{lot}/{serial}", and fills value
// templates ("https://example.com/pumps/{serial}") with what a match
// captured. It owns the pattern syntax, matching, overlap detection and
// template expansion; it knows nothing of storage or of how a match is
// served.
//
// # Syntax
//
// A pattern is literal text with captures in braces; "{{" and "}}" stand
// for literal braces.
//
//	{name}          1 to 64 characters of [a-z0-9_.-] (no "/")
//	{name:LO-HI}    a decimal number from LO to HI. When LO and HI have the
//	                same number of digits the capture has exactly that
//	                width ("000000-999999" matches "000042"); otherwise it
//	                is written without leading zeros ("1-9999").
//
// A name is 1 to 32 characters of [a-z0-9_], unique within the pattern; a
// pattern has 1 to 8 captures and matches at most ident.MaxSuffixLen bytes.
// Literals compare case-insensitively for ASCII letters (as identifiers
// do); a pattern is matched against an identifier's folded suffix, so the
// captured text is the lookup key's, the same for every spelling asked.
package pattern

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"

	"github.com/idres/idres/registry/ident"
)

// Limits on a pattern.
const (
	MaxCaptures   = 8
	MaxNameLen    = 32
	MaxTokenLen   = 64
	MaxDigits     = 18
	MaxPatternLen = 512
)

// ErrInvalid marks a pattern or template that does not parse.
var ErrInvalid = errors.New("invalid pattern")

// Pattern is a parsed suffix pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	src   string
	parts []part
	names []string
	max   int // longest suffix it can match, in bytes
	// tokens is true when some capture is a token.
	tokens bool
}

type capKind int

const (
	kindToken capKind = iota
	kindRange
)

// part is a folded literal (cap == nil) or a capture.
type part struct {
	lit string
	cap *capture
}

type capture struct {
	name   string
	kind   capKind
	lo, hi uint64
	fixed  bool // width is exactly minLen
	minLen int
	maxLen int
}

// String is the pattern as written.
func (p *Pattern) String() string { return p.src }

// Names lists the capture names in order.
func (p *Pattern) Names() []string { return append([]string(nil), p.names...) }

// Parse parses a pattern. Errors wrap ErrInvalid and say where.
func Parse(src string) (*Pattern, error) {
	fail := func(pos int, format string, args ...any) (*Pattern, error) {
		return nil, fmt.Errorf("%w %q at byte %d: %s", ErrInvalid, cut(src), pos, fmt.Sprintf(format, args...))
	}
	if src == "" {
		return fail(0, "empty")
	}
	if len(src) > MaxPatternLen {
		return fail(0, "%d bytes, more than %d", len(src), MaxPatternLen)
	}
	if !norm.NFC.IsNormalString(src) {
		return fail(0, "not in Unicode NFC form")
	}
	p := &Pattern{src: src}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, part{lit: ident.Fold(lit.String())})
			p.max += lit.Len()
			lit.Reset()
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '{' && strings.HasPrefix(src[i:], "{{"), c == '}' && strings.HasPrefix(src[i:], "}}"):
			lit.WriteByte(c)
			i += 2
		case c == '}':
			return fail(i, `unmatched "}" (write "}}" for a literal brace)`)
		case c == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return fail(i, `capture not closed with "}"`)
			}
			cp, err := parseCapture(src[i+1 : i+end])
			if err != nil {
				return fail(i+1, "%v", err)
			}
			if seen[cp.name] {
				return fail(i+1, "capture %q appears twice", cp.name)
			}
			seen[cp.name] = true
			if len(p.names) == MaxCaptures {
				return fail(i, "more than %d captures", MaxCaptures)
			}
			flush()
			p.parts = append(p.parts, part{cap: cp})
			p.names = append(p.names, cp.name)
			p.tokens = p.tokens || cp.kind == kindToken
			p.max += cp.maxLen
			i += end + 1
		case c == '/' && i == 0:
			return fail(i, "a suffix pattern cannot start with the prefix separator")
		case c < 0x20 || c == 0x7f:
			return fail(i, "control character")
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	if len(p.names) == 0 {
		return fail(0, "no capture: register the identifier itself instead")
	}
	if p.max > ident.MaxSuffixLen {
		return fail(0, "can match %d bytes, more than a suffix's %d", p.max, ident.MaxSuffixLen)
	}
	return p, nil
}

func parseCapture(body string) (*capture, error) {
	name, spec, hasSpec := strings.Cut(body, ":")
	if name == "" || len(name) > MaxNameLen {
		return nil, fmt.Errorf("capture name must be 1 to %d characters", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return nil, fmt.Errorf("capture name %q: only [a-z0-9_]", name)
		}
	}
	if !hasSpec {
		return &capture{name: name, kind: kindToken, minLen: 1, maxLen: MaxTokenLen}, nil
	}
	lo, hi, ok := strings.Cut(spec, "-")
	if !ok || !allDigits(lo) || !allDigits(hi) {
		return nil, fmt.Errorf("capture %q: range must be LO-HI in decimal digits, e.g. 000000-999999", name)
	}
	if len(lo) > MaxDigits || len(hi) > MaxDigits {
		return nil, fmt.Errorf("capture %q: at most %d digits", name, MaxDigits)
	}
	l, _ := strconv.ParseUint(lo, 10, 64)
	h, _ := strconv.ParseUint(hi, 10, 64)
	if l > h {
		return nil, fmt.Errorf("capture %q: range %s-%s is empty", name, lo, hi)
	}
	cp := &capture{name: name, kind: kindRange, lo: l, hi: h}
	if len(lo) == len(hi) {
		cp.fixed, cp.minLen, cp.maxLen = true, len(lo), len(lo)
	} else {
		if len(lo) > 1 && lo[0] == '0' {
			return nil, fmt.Errorf("capture %q: a range of varying width is written without leading zeros", name)
		}
		cp.minLen, cp.maxLen = len(strconv.FormatUint(l, 10)), len(hi)
	}
	return cp, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// accepts reports whether the capture accepts s exactly.
func (c *capture) accepts(s string) bool {
	if len(s) < c.minLen || len(s) > c.maxLen {
		return false
	}
	if c.kind == kindToken {
		for i := 0; i < len(s); i++ {
			if !isTokenByte(s[i]) {
				return false
			}
		}
		return true
	}
	if !allDigits(s) || !c.fixed && len(s) > 1 && s[0] == '0' {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n >= c.lo && n <= c.hi
}

// Match matches a folded suffix (ident.ID.Key's suffix) and returns the
// captures by name. Captures are tried longest first, left to right, so
// an ambiguous pattern still matches one way only.
//
// Its cost is bounded whatever the suffix: each (part, position) pair is
// tried once (failures are memoised), and a token capture tests each
// length in constant time from the run of token bytes at its position.
func (p *Pattern) Match(suffix string) (map[string]string, bool) {
	if len(suffix) > p.max {
		return nil, false
	}
	// The literals that open and close the pattern must be there: most
	// misses end here, before any backtracking.
	if first := p.parts[0]; first.cap == nil && !strings.HasPrefix(suffix, first.lit) {
		return nil, false
	}
	if last := p.parts[len(p.parts)-1]; last.cap == nil && !strings.HasSuffix(suffix, last.lit) {
		return nil, false
	}
	// run[i] is how many token bytes start at i.
	var run []uint16
	if p.tokens {
		run = make([]uint16, len(suffix)+1)
		for i := len(suffix) - 1; i >= 0; i-- {
			if isTokenByte(suffix[i]) {
				run[i] = run[i+1] + 1
			}
		}
	}
	vals := make([]string, len(p.names))
	width := len(suffix) + 1
	var failed []bool
	var try func(pi, pos, ci int) bool
	try = func(pi, pos, ci int) bool {
		if pi == len(p.parts) {
			return pos == len(suffix)
		}
		if failed != nil && failed[pi*width+pos] {
			return false
		}
		pt := p.parts[pi]
		ok := false
		switch {
		case pt.cap == nil:
			ok = strings.HasPrefix(suffix[pos:], pt.lit) && try(pi+1, pos+len(pt.lit), ci)
		case pt.cap.kind == kindToken:
			for n := min(pt.cap.maxLen, int(run[pos])); n >= pt.cap.minLen && !ok; n-- {
				vals[ci] = suffix[pos : pos+n]
				ok = try(pi+1, pos+n, ci+1)
			}
		default:
			for n := min(pt.cap.maxLen, len(suffix)-pos); n >= pt.cap.minLen && !ok; n-- {
				if pt.cap.accepts(suffix[pos : pos+n]) {
					vals[ci] = suffix[pos : pos+n]
					ok = try(pi+1, pos+n, ci+1)
				}
			}
		}
		if !ok {
			if failed == nil {
				failed = make([]bool, len(p.parts)*width)
			}
			failed[pi*width+pos] = true
		}
		return ok
	}
	if !try(0, 0, 0) {
		return nil, false
	}
	out := make(map[string]string, len(vals))
	for i, n := range p.names {
		out[n] = vals[i]
	}
	return out, true
}

var cache sync.Map // source -> *Pattern

// Cached parses src once per process: stored patterns are re-read on every
// lookup that falls through to them, and parsing each time would cost more
// than the match.
func Cached(src string) (*Pattern, error) {
	if p, ok := cache.Load(src); ok {
		return p.(*Pattern), nil
	}
	p, err := Parse(src)
	if err != nil {
		return nil, err
	}
	cache.Store(src, p)
	return p, nil
}
