// Package template checks identifier values against a prefix's metadata
// template: typed fields (kind, required, pattern, length bounds) that the
// values of every identifier under the prefix must satisfy. It owns the
// rules of each kind and nothing else: which template applies (the nearest
// ancestor's) is the registry's business, and it never touches storage.
package template

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Kinds of field.
const (
	KindString   = "string"
	KindInt      = "int"
	KindDecimal  = "decimal"
	KindDate     = "date"     // RFC 3339 full-date: 2026-11-25
	KindDateTime = "datetime" // RFC 3339 date-time with offset: 2026-11-25T15:04:05Z
	KindURL      = "url"      // absolute URI; http(s) needs a host
	KindEnum     = "enum"     // one of the field's choices, exactly
	KindGTIN     = "gs1-gtin" // GTIN-8/12/13/14 with a valid check digit
)

// Kinds lists every kind, in documentation order.
var Kinds = []string{KindString, KindInt, KindDecimal, KindDate, KindDateTime, KindURL, KindEnum, KindGTIN}

// Bounds of a template itself.
const (
	MaxFields     = 256
	MaxChoices    = 1024
	MaxPatternLen = 1024
)

var (
	// ErrInvalid marks a template that cannot be used (unknown kind, bad
	// pattern, ...); the message says which field and why.
	ErrInvalid = errors.New("invalid template")
	// ErrViolation marks values that break a template; the message names
	// the field, the rule and the offending value.
	ErrViolation = errors.New("template violation")
)

// Checker is a validated template, ready to check values. It is immutable
// and safe for concurrent use.
type Checker struct {
	prefix string
	closed bool
	fields []field
}

type field struct {
	*idresv1.TemplateField
	pattern *regexp.Regexp
}

// Compile validates t and prepares it for checking.
func Compile(t *idresv1.Template) (*Checker, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: template is required", ErrInvalid)
	}
	if len(t.Fields) > MaxFields {
		return nil, fmt.Errorf("%w: %d fields, more than %d", ErrInvalid, len(t.Fields), MaxFields)
	}
	c := &Checker{prefix: t.Prefix, closed: t.Closed}
	seen := map[string]bool{}
	for i, f := range t.Fields {
		if f == nil || f.Type == "" {
			return nil, fmt.Errorf("%w: field %d: type is required", ErrInvalid, i+1)
		}
		if !utf8.ValidString(f.Type) || len(f.Type) > 255 {
			return nil, fmt.Errorf("%w: field %d: type must be 1 to 255 bytes of UTF-8", ErrInvalid, i+1)
		}
		key := foldASCII(f.Type)
		if seen[key] {
			return nil, fmt.Errorf("%w: field %q listed twice", ErrInvalid, f.Type)
		}
		seen[key] = true
		if !slices.Contains(Kinds, f.Kind) {
			return nil, fmt.Errorf("%w: field %q: unknown kind %q (want one of %s)", ErrInvalid, f.Type, f.Kind, strings.Join(Kinds, ", "))
		}
		switch {
		case f.Kind == KindEnum && len(f.Choices) == 0:
			return nil, fmt.Errorf("%w: field %q: kind enum needs choices", ErrInvalid, f.Type)
		case f.Kind != KindEnum && len(f.Choices) > 0:
			return nil, fmt.Errorf("%w: field %q: choices are only for kind enum", ErrInvalid, f.Type)
		case len(f.Choices) > MaxChoices:
			return nil, fmt.Errorf("%w: field %q: %d choices, more than %d", ErrInvalid, f.Type, len(f.Choices), MaxChoices)
		case f.MaxLength > 0 && f.MinLength > f.MaxLength:
			return nil, fmt.Errorf("%w: field %q: min_length %d is more than max_length %d", ErrInvalid, f.Type, f.MinLength, f.MaxLength)
		case len(f.Pattern) > MaxPatternLen:
			return nil, fmt.Errorf("%w: field %q: pattern is %d bytes, more than %d", ErrInvalid, f.Type, len(f.Pattern), MaxPatternLen)
		}
		fl := field{TemplateField: f}
		if f.Pattern != "" {
			// Anchored: the pattern describes the whole data, as in XML
			// Schema and JSON Schema's format-like use, not a substring.
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err != nil {
				return nil, fmt.Errorf("%w: field %q: pattern: %v", ErrInvalid, f.Type, err)
			}
			fl.pattern = re
		}
		c.fields = append(c.fields, fl)
	}
	return c, nil
}

// Check reports the first way vals break the template, or nil.
func (c *Checker) Check(vals []*idresv1.Value) error {
	present := make([]bool, len(c.fields))
	for _, v := range vals {
		i := c.find(v.GetType())
		if i < 0 {
			if c.closed {
				return c.violation("value index %d: rule closed: type %q is not in the template", v.GetIndex(), v.GetType())
			}
			continue
		}
		present[i] = true
		f := c.fields[i]
		if rule, why := checkField(f, v.GetData()); rule != "" {
			return c.violation("field %q (value index %d): rule %s: value %s %s", f.Type, v.GetIndex(), rule, quote(v.GetData()), why)
		}
	}
	for i, f := range c.fields {
		if f.Required && !present[i] {
			return c.violation("field %q: rule required: no value of type %q", f.Type, f.Type)
		}
	}
	return nil
}

func (c *Checker) violation(format string, args ...any) error {
	where := "the root"
	if c.prefix != "" {
		where = strconv.Quote(c.prefix)
	}
	return fmt.Errorf("%w: template of %s: %s", ErrViolation, where, fmt.Sprintf(format, args...))
}

func (c *Checker) find(typ string) int {
	key := foldASCII(typ)
	for i, f := range c.fields {
		if foldASCII(f.Type) == key {
			return i
		}
	}
	return -1
}

// checkField returns the broken rule and why, or "" when data passes.
// Kind first, then length, then pattern.
func checkField(f field, data []byte) (rule, why string) {
	if !utf8.Valid(data) {
		return f.Kind, "is not valid UTF-8"
	}
	s := string(data)
	if why := checkKind(f, s); why != "" {
		return f.Kind, why
	}
	n := uint32(utf8.RuneCountInString(s))
	if f.MinLength > 0 && n < f.MinLength {
		return "min_length", fmt.Sprintf("has %d characters, fewer than %d", n, f.MinLength)
	}
	if f.MaxLength > 0 && n > f.MaxLength {
		return "max_length", fmt.Sprintf("has %d characters, more than %d", n, f.MaxLength)
	}
	if f.pattern != nil && !f.pattern.MatchString(s) {
		return "pattern", fmt.Sprintf("does not match %q", f.Pattern)
	}
	return "", ""
}

var decimalRE = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

func checkKind(f field, s string) string {
	switch f.Kind {
	case KindString:
		return ""
	case KindInt:
		// Arbitrary size: an integer is a string of digits, not a machine word.
		if _, ok := new(big.Int).SetString(s, 10); !ok {
			return "is not a decimal integer"
		}
	case KindDecimal:
		if !decimalRE.MatchString(s) {
			return "is not a decimal number (digits with an optional sign and fraction, no exponent)"
		}
	case KindDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "is not a date YYYY-MM-DD"
		}
	case KindDateTime:
		if !isRFC3339(s) {
			return "is not an RFC 3339 date-time with offset, e.g. 2026-11-25T15:04:05Z"
		}
	case KindURL:
		if why := checkURL(s); why != "" {
			return why
		}
	case KindEnum:
		if !slices.Contains(f.Choices, s) {
			return fmt.Sprintf("is not one of %s", quoteList(f.Choices))
		}
	case KindGTIN:
		return checkGTIN(s)
	}
	return ""
}

// isRFC3339 accepts what RFC 3339 §5.6 allows, including the lowercase
// "t" and "z" that time.Parse's layout refuses.
func isRFC3339(s string) bool {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return false
	}
	if c := s[10]; c != 'T' && c != 't' {
		return false
	}
	u := []byte(s)
	u[10] = 'T'
	if u[len(u)-1] == 'z' {
		u[len(u)-1] = 'Z'
	}
	_, err := time.Parse(time.RFC3339Nano, string(u))
	return err == nil
}

func checkURL(s string) string {
	if strings.ContainsAny(s, " \t\r\n") {
		return "is not a URL (contains white space)"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL"
	}
	if u.Scheme == "" {
		return "is not an absolute URL (no scheme)"
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" || u.Hostname() == "" {
			return "is not an http(s) URL with a host"
		}
	default:
		if u.Host == "" && u.Opaque == "" && u.Path == "" {
			return "is not a URL (nothing after the scheme)"
		}
	}
	return ""
}

// checkGTIN checks a GTIN-8, -12, -13 or -14: all digits, and the last one
// the GS1 mod-10 check digit of the others (weights 3,1,3,... from the right).
func checkGTIN(s string) string {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return fmt.Sprintf("is not a GTIN (%d characters; want 8, 12, 13 or 14 digits)", len(s))
	}
	sum := 0
	for i := len(s) - 2; i >= 0; i-- {
		d := s[i]
		if d < '0' || d > '9' {
			return "is not a GTIN (not all digits)"
		}
		w := 1
		if (len(s)-2-i)%2 == 0 {
			w = 3
		}
		sum += int(d-'0') * w
	}
	last := s[len(s)-1]
	if last < '0' || last > '9' {
		return "is not a GTIN (not all digits)"
	}
	want := (10 - sum%10) % 10
	if int(last-'0') != want {
		return fmt.Sprintf("has a wrong GS1 check digit (want %d)", want)
	}
	return ""
}

// quote shows data in a message: quoted, cut at 64 bytes.
func quote(data []byte) string {
	const max = 64
	if len(data) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(data[cut]) {
			cut--
		}
		return strconv.Quote(string(data[:cut])) + "..."
	}
	return strconv.Quote(string(data))
}

func quoteList(xs []string) string {
	const max = 10
	q := make([]string, 0, max)
	for i, x := range xs {
		if i == max {
			q = append(q, fmt.Sprintf("... (%d in all)", len(xs)))
			break
		}
		q = append(q, strconv.Quote(x))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
