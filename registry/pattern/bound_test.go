package pattern

import (
	"strings"
	"testing"
)

// TestMaxExpansion checks the bound against Expand with each capture at
// its longest.
func TestMaxExpansion(t *testing.T) {
	p, err := Parse("LOT-{lot}/{serial:0-99999}")
	if err != nil {
		t.Fatal(err)
	}
	longest := map[string]string{"lot": strings.Repeat("a", MaxTokenLen), "serial": "99999"}
	for _, tmpl := range []string{"", "plain", "{lot}", "{{lot}}", "https://x/{lot}/{serial}?again={lot}{lot}", strings.Repeat("{lot}", 1000)} {
		got, err := p.MaxExpansion(tmpl)
		if err != nil {
			t.Fatalf("%q: %v", tmpl, err)
		}
		want, _ := p.Expand(tmpl, longest)
		if got != len(want) {
			t.Errorf("MaxExpansion(%.20q) = %d, want %d", tmpl, got, len(want))
		}
	}
	if _, err := p.MaxExpansion("{nope}"); err == nil {
		t.Errorf("an unknown capture was accepted")
	}
}
