package pattern

import (
	"fmt"
	"strings"
)

// CheckTemplate checks that a value template names only captures of p
// and that its braces are balanced ("{{" and "}}" are literal braces).
func (p *Pattern) CheckTemplate(tmpl string) error {
	_, err := p.expand(tmpl, nil)
	return err
}

// Expand fills a value template with the captures of a match.
func (p *Pattern) Expand(tmpl string, caps map[string]string) (string, error) {
	return p.expand(tmpl, caps)
}

func (p *Pattern) expand(tmpl string, caps map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		switch {
		case c == '{' && strings.HasPrefix(tmpl[i:], "{{"), c == '}' && strings.HasPrefix(tmpl[i:], "}}"):
			b.WriteByte(c)
			i += 2
		case c == '}':
			return "", fmt.Errorf("%w: template %q at byte %d: unmatched \"}\" (write \"}}\" for a literal brace)", ErrInvalid, cut(tmpl), i)
		case c == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("%w: template %q at byte %d: \"{\" not closed", ErrInvalid, cut(tmpl), i)
			}
			name := tmpl[i+1 : i+end]
			if !p.has(name) {
				return "", fmt.Errorf("%w: template %q at byte %d: pattern %q has no capture %q", ErrInvalid, cut(tmpl), i, cut(p.src), name)
			}
			b.WriteString(caps[name])
			i += end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func (p *Pattern) has(name string) bool {
	for _, n := range p.names {
		if n == name {
			return true
		}
	}
	return false
}
