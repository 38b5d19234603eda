// Package dnsname maps identifiers and prefixes to DNS names and back
// (design §7). It owns the mapping and nothing else: it never reads the
// store and never touches the wire.
//
// A prefix p1.p2.p3 is the name p3.p2.p1.<zone>; the root prefix "" is the
// zone apex. An identifier is <S>._id.<prefix name>, where S is the suffix
// of the identifier's lookup key (ident.ID.Key, so ASCII is lowercased):
//
//   - the suffix itself, as one label, when it is a lowercase LDH label:
//     1 to 63 of [a-z0-9-], not starting or ending with "-", and without
//     "--" at positions 3 and 4;
//   - otherwise "ie--" followed by the lowercase, unpadded base32hex
//     (RFC 4648 §7) of the suffix's UTF-8 bytes, that whole string cut into
//     labels of 63 octets from the left (the last may be shorter).
//
// The mapping is a bijection between lookup keys and canonical names:
// Reverse accepts only names that Identifier produces, so a second spelling
// of one identifier (an "ie--" encoding of an LDH suffix, upper-case base32
// digits aside, which DNS folds anyway) is not a name of it.
//
// Two kinds of identifier are not reachable through DNS: those whose name
// would pass 255 octets, and those whose prefix has a segment "_id", which
// would collide with the "_id" label that separates suffix and prefix.
package dnsname

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/idres/idres/registry/ident"
)

// Limits of RFC 1035 §2.3.4.
const (
	MaxLabelLen = 63
	MaxNameLen  = 255 // octets in wire form, including the root label
)

// IDLabel separates an identifier's suffix labels from its prefix name.
const IDLabel = "_id"

// EncodedTag starts the first label of a base32hex-encoded suffix.
const EncodedTag = "ie--"

// ErrTooLong marks an identifier or prefix whose name would pass 255 octets.
var ErrTooLong = errors.New("DNS name longer than 255 octets")

// ErrUnmappable marks a prefix or name outside the mapping.
var ErrUnmappable = errors.New("not a name of the identifier mapping")

var b32 = base32.HexEncoding.WithPadding(base32.NoPadding)

// CanonicalZone returns zone as a lowercase fully-qualified name: "id.example"
// and "ID.Example." both give "id.example.". The root zone is ".".
func CanonicalZone(zone string) (string, error) {
	z := strings.ToLower(strings.TrimSpace(zone))
	if z == "" || z == "." {
		return ".", nil
	}
	if !strings.HasSuffix(z, ".") {
		z += "."
	}
	if strings.HasPrefix(z, ".") || strings.Contains(z, "..") {
		return "", fmt.Errorf("zone %q: empty label", zone)
	}
	for _, l := range strings.Split(strings.TrimSuffix(z, "."), ".") {
		if len(l) > MaxLabelLen {
			return "", fmt.Errorf("zone %q: label %q is %d octets, more than %d", zone, l, len(l), MaxLabelLen)
		}
	}
	if wireLen(z) > MaxNameLen {
		return "", fmt.Errorf("zone %q: %w", zone, ErrTooLong)
	}
	return z, nil
}

// Prefix returns the name of a prefix under zone (a canonical zone, see
// CanonicalZone). The prefix is folded; "" is the zone apex.
func Prefix(zone, prefix string) (string, error) {
	if _, err := ident.ParsePrefix(prefix); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnmappable, err)
	}
	if prefix == "" {
		return zone, nil
	}
	segs := strings.Split(ident.Fold(prefix), ".")
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] == IDLabel {
			return "", fmt.Errorf("%w: prefix %q has a segment %q, which the mapping reserves", ErrUnmappable, prefix, IDLabel)
		}
		b.WriteString(segs[i])
		b.WriteByte('.')
	}
	name := join(b.String(), zone)
	if wireLen(name) > MaxNameLen {
		return "", fmt.Errorf("prefix %q: %w", prefix, ErrTooLong)
	}
	return name, nil
}

// Identifier returns the name of an identifier under zone.
func Identifier(zone string, id ident.ID) (string, error) {
	pname, err := Prefix(zone, id.Prefix)
	if err != nil {
		return "", err
	}
	name := SuffixLabels(suffixKey(id)) + "." + IDLabel + "." + pname
	if wireLen(name) > MaxNameLen {
		return "", fmt.Errorf("identifier %q: %w", id.String(), ErrTooLong)
	}
	return name, nil
}

// suffixKey is the suffix part of the lookup key.
func suffixKey(id ident.ID) string {
	k := id.Key()
	return k[strings.IndexByte(k, '/')+1:]
}

// SuffixLabels returns S for a folded suffix: one LDH label, or "ie--" and
// base32hex in labels of at most 63 octets, joined with ".".
func SuffixLabels(suffix string) string {
	if IsLDHLabel(suffix) {
		return suffix
	}
	enc := EncodedTag + strings.ToLower(b32.EncodeToString([]byte(suffix)))
	var b strings.Builder
	for len(enc) > MaxLabelLen {
		b.WriteString(enc[:MaxLabelLen])
		b.WriteByte('.')
		enc = enc[MaxLabelLen:]
	}
	b.WriteString(enc)
	return b.String()
}

// IsLDHLabel reports whether s is a lowercase LDH label that the mapping
// uses as it is: 1 to 63 of [a-z0-9-], not starting or ending with "-",
// no "--" at positions 3-4 (which would look like "xn--" or "ie--").
func IsLDHLabel(s string) bool {
	if len(s) == 0 || len(s) > MaxLabelLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	if len(s) >= 4 && s[2] == '-' && s[3] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Kind says what a name under the zone denotes.
type Kind int

const (
	// KindPrefix is a prefix name (the apex is the root prefix).
	KindPrefix Kind = iota
	// KindIdentifier is the name of an identifier.
	KindIdentifier
)

// Parsed is the meaning of a name under a zone.
type Parsed struct {
	Kind   Kind
	Prefix string   // folded prefix ("" for the apex)
	ID     ident.ID // for KindIdentifier: the lookup key as an ID
}

// Reverse maps a name under zone back to its prefix or identifier. The
// name is compared case-insensitively and may omit the final dot. Names
// outside the zone, non-canonical spellings and names that are no prefix
// or identifier give an error wrapping ErrUnmappable.
func Reverse(zone, name string) (Parsed, error) {
	rel, err := Relative(zone, name)
	if err != nil {
		return Parsed{}, err
	}
	var labels []string
	if rel != "" {
		labels = strings.Split(rel, ".")
	}
	at := -1
	for i, l := range labels {
		if l == IDLabel {
			at = i
			break
		}
	}
	plabels := labels
	if at >= 0 {
		plabels = labels[at+1:]
	}
	prefix, err := prefixOf(plabels)
	if err != nil {
		return Parsed{}, fmt.Errorf("%w: %q: %v", ErrUnmappable, name, err)
	}
	if at < 0 {
		return Parsed{Kind: KindPrefix, Prefix: prefix}, nil
	}
	if prefix == "" {
		return Parsed{}, fmt.Errorf("%w: %q: identifiers have a prefix of at least one segment", ErrUnmappable, name)
	}
	suffix, err := decodeSuffix(labels[:at])
	if err != nil {
		return Parsed{}, fmt.Errorf("%w: %q: %v", ErrUnmappable, name, err)
	}
	id, err := ident.Parse(prefix + "/" + suffix)
	if err != nil {
		return Parsed{}, fmt.Errorf("%w: %q: %v", ErrUnmappable, name, err)
	}
	if id.Key() != prefix+"/"+suffix {
		return Parsed{}, fmt.Errorf("%w: %q: not the canonical name of %q", ErrUnmappable, name, id.Key())
	}
	canon, err := Identifier(zone, id)
	if err != nil {
		return Parsed{}, err
	}
	if canon != canonicalName(name) {
		return Parsed{}, fmt.Errorf("%w: %q: not the canonical name of %q (%s)", ErrUnmappable, name, id.Key(), canon)
	}
	return Parsed{Kind: KindIdentifier, Prefix: prefix, ID: id}, nil
}

// Relative returns name relative to zone without the trailing dot ("" for
// the apex), lowercased. ErrUnmappable when the name is not in the zone.
func Relative(zone, name string) (string, error) {
	n := canonicalName(name)
	switch {
	case n == zone:
		return "", nil
	case zone == ".":
		return strings.TrimSuffix(n, "."), nil
	case strings.HasSuffix(n, "."+zone) && len(n) > len(zone)+1:
		return strings.TrimSuffix(n, "."+zone), nil
	}
	return "", fmt.Errorf("%w: %q is not in zone %q", ErrUnmappable, name, zone)
}

// PrefixOfLabels returns the folded prefix of prefix-name labels given
// leftmost first (the reverse of segment order); nil or empty is the root.
func PrefixOfLabels(labels []string) (string, error) { return prefixOf(labels) }

func prefixOf(labels []string) (string, error) {
	if len(labels) == 0 {
		return "", nil
	}
	segs := make([]string, len(labels))
	for i, l := range labels {
		if l == IDLabel {
			return "", fmt.Errorf("label %q is reserved", IDLabel)
		}
		segs[len(labels)-1-i] = l
	}
	p := strings.Join(segs, ".")
	if _, err := ident.ParsePrefix(p); err != nil {
		return "", err
	}
	return p, nil
}

func decodeSuffix(labels []string) (string, error) {
	switch {
	case len(labels) == 0:
		return "", errors.New("no suffix label before " + IDLabel)
	case len(labels) == 1 && IsLDHLabel(labels[0]):
		return labels[0], nil
	case !strings.HasPrefix(labels[0], EncodedTag):
		return "", fmt.Errorf("suffix label %q is neither an LDH label nor %q-encoded", labels[0], EncodedTag)
	}
	enc := strings.TrimPrefix(strings.Join(labels, ""), EncodedTag)
	raw, err := b32.DecodeString(strings.ToUpper(enc))
	if err != nil {
		return "", fmt.Errorf("suffix is not base32hex: %v", err)
	}
	s := string(raw)
	if SuffixLabels(s) != strings.Join(labels, ".") {
		return "", errors.New("suffix labels are not in canonical form")
	}
	return s, nil
}

// IsEncodedTail reports whether labels (leftmost first) could be the
// trailing labels of an encoded suffix, that is an empty non-terminal above
// some identifier's name: base32hex digits only, each label but the last
// exactly 63 octets.
func IsEncodedTail(labels []string) bool {
	if len(labels) == 0 {
		return false
	}
	for i, l := range labels {
		if len(l) == 0 || len(l) > MaxLabelLen || i < len(labels)-1 && len(l) != MaxLabelLen {
			return false
		}
		for j := 0; j < len(l); j++ {
			if c := l[j]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
				return false
			}
		}
	}
	return true
}

func canonicalName(name string) string {
	n := strings.ToLower(name)
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// join puts relative labels (ending in ".") before zone.
func join(rel, zone string) string {
	if zone == "." {
		return rel
	}
	return rel + zone
}

// wireLen is the length of a dotted, fully-qualified name in wire form:
// one length octet per label plus its octets, plus the root's zero octet.
func wireLen(fqdn string) int {
	if fqdn == "." {
		return 1
	}
	return len(fqdn) + 1
}
