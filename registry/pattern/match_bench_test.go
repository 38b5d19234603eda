package pattern

import (
	"strings"
	"testing"
)

// BenchmarkMatchWorstCase: adjacent tokens before a literal the suffix
// lacks, the most backtracking a lookup can cause.
func BenchmarkMatchWorstCase(b *testing.B) {
	p := mustParse(b, "{a}{b}{c}{d}{e}{f}{g}!{h}")
	s := strings.Repeat("a", p.max-2)
	for b.Loop() {
		if _, ok := p.Match(s); ok {
			b.Fatal("matched")
		}
	}
}

func BenchmarkMatchSerial(b *testing.B) {
	p := mustParse(b, "PUMP-{serial:000000-999999}")
	for b.Loop() {
		if _, ok := p.Match("pump-000042"); !ok {
			b.Fatal("no match")
		}
	}
}
