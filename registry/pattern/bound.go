package pattern

import "strings"

// MaxExpansion is the most bytes Expand can make of tmpl: its literal
// text plus, for each reference to a capture, the longest text that
// capture matches (64 bytes for a token, the width of HI for a range). A
// template can name a capture many times, so a short template can expand
// to far more than itself ("{a}" is 3 bytes and up to 64 expanded): the
// registry bounds patterns by this, not by the template's length. tmpl
// must pass CheckTemplate.
func (p *Pattern) MaxExpansion(tmpl string) (int, error) {
	if err := p.CheckTemplate(tmpl); err != nil {
		return 0, err
	}
	n := 0
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		switch {
		case c == '{' && strings.HasPrefix(tmpl[i:], "{{"), c == '}' && strings.HasPrefix(tmpl[i:], "}}"):
			n++
			i += 2
		case c == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			n += p.maxLen(tmpl[i+1 : i+end])
			i += end + 1
		default:
			n++
			i++
		}
	}
	return n, nil
}

// maxLen is the longest text the capture name matches.
func (p *Pattern) maxLen(name string) int {
	for _, pt := range p.parts {
		if pt.cap != nil && pt.cap.name == name {
			return pt.cap.maxLen
		}
	}
	return 0
}
