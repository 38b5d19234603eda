package httpgw

import (
	"fmt"
	"strings"
)

// Routes. Everything else under "/" is a landing page.
const (
	apiPrefix  = "/api/handles/"
	apiSpace   = "/api/" // reserved: the landing page of prefix "api" is "/api%2F..."
	pathHealth = "/healthz"
	pathReady  = "/readyz"
	pathMetric = "/metrics"
)

// PathError says what is wrong with an identifier's place in a URL.
type PathError struct {
	Pos int // byte offset into the escaped path
	Msg string
}

func (e *PathError) Error() string { return fmt.Sprintf("URL path at byte %d: %s", e.Pos, e.Msg) }

// DecodeIdentifier percent-decodes an identifier taken from an escaped URL
// path (RFC 3986 §2.1): every "%XX" becomes the byte 0xXX, "%2F" and "/"
// alike become "/", and "+" stays "+" (it means a space only in form
// queries). The result is not validated as an identifier; ident.Parse does
// that. Errors are *PathError.
func DecodeIdentifier(escaped string) (string, error) {
	if escaped == "" {
		return "", &PathError{Pos: 0, Msg: "no identifier after the route"}
	}
	if !strings.Contains(escaped, "%") {
		return escaped, nil
	}
	var b strings.Builder
	b.Grow(len(escaped))
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
			end := min(i+3, len(escaped))
			return "", &PathError{Pos: i, Msg: fmt.Sprintf("invalid percent-encoding %q (want %% and two hex digits)", escaped[i:end])}
		}
		b.WriteByte(unhex(escaped[i+1])<<4 | unhex(escaped[i+2]))
		i += 2
	}
	return b.String(), nil
}

// EscapeIdentifier writes an identifier as URL path segments: bytes other
// than RFC 3986 unreserved characters, ":" and "@" are percent-encoded, and
// "/" stays a literal separator except at the start and before a segment
// that is empty, "." or "..", where it is written "%2F", so that no client
// or proxy normalises the path (RFC 3986 §5.2.4 would remove such
// segments) and a page path never starts with "//".
func EscapeIdentifier(id string) string {
	var b strings.Builder
	b.Grow(len(id) + len(id)/2)
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '/':
			// At the start a literal "/" would make "//host" of a page
			// path: a redirect to another site.
			if i == 0 || dotOrEmptySegment(id[i+1:]) {
				b.WriteString("%2F")
			} else {
				b.WriteByte('/')
			}
		case isUnreserved(c) || c == ':' || c == '@':
			b.WriteByte(c)
		default:
			const hexdigits = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		}
	}
	return b.String()
}

// APIPath is the path of an identifier's JSON record.
func APIPath(id string) string { return apiPrefix + EscapeIdentifier(id) }

// PagePath is the path of an identifier's landing page. The separator of
// an identifier with prefix "api" is escaped so it cannot be taken for the
// API's route space.
func PagePath(id string) string {
	p := EscapeIdentifier(id)
	if len(p) >= 4 && strings.EqualFold(p[:4], "api/") {
		p = p[:3] + "%2F" + p[4:]
	}
	return "/" + p
}

// PageURL is the landing page of id on the gateway at base (e.g.
// "https://id.example.org"); it is what a QR code label carries.
func PageURL(base, id string) string { return strings.TrimRight(base, "/") + PagePath(id) }

// APIURL is the JSON record of id on the gateway at base.
func APIURL(base, id string) string { return strings.TrimRight(base, "/") + APIPath(id) }

func dotOrEmptySegment(rest string) bool {
	seg, _, _ := strings.Cut(rest, "/")
	return seg == "" || seg == "." || seg == ".."
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
