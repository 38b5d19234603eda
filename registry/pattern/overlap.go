package pattern

// Two patterns overlap when some suffix matches both: then which one
// answers would depend on order, so a prefix may not hold both. Overlaps
// decides it on the patterns' byte automata (each capture as its character
// class repeated min..max times), which is exact for the text shape but
// ignores numeric bounds; when both patterns have the same shape (the same
// literals and captures of the same kind and width) the numeric bounds are
// compared too when every capture has a fixed width (so each suffix splits
// one way only), and "P-{s:000000-499999}" and "P-{s:500000-999999}" may
// live side by side. Anything else that might overlap is refused.

type byteSet [4]uint64

func (s *byteSet) add(c byte)          { s[c>>6] |= 1 << (c & 63) }
func (s byteSet) meets(t byteSet) bool { return s[0]&t[0]|s[1]&t[1]|s[2]&t[2]|s[3]&t[3] != 0 }
func single(c byte) (s byteSet)        { s.add(c); return s }
func class(ok func(byte) bool) (s byteSet) {
	for c := 0; c < 256; c++ {
		if ok(byte(c)) {
			s.add(byte(c))
		}
	}
	return s
}

var (
	tokenSet = class(isTokenByte)
	digitSet = class(func(c byte) bool { return c >= '0' && c <= '9' })
)

// nfa is a pattern unrolled into states: state i consumes one byte of
// sets[i] and moves to i+1; skip[i] > 0 is an empty move to skip[i] (the
// end of a capture that has read its minimum). len(sets) accepts.
type nfa struct {
	sets []byteSet
	skip []int
}

func (p *Pattern) nfa() nfa {
	var a nfa
	for _, pt := range p.parts {
		if pt.cap == nil {
			for i := 0; i < len(pt.lit); i++ {
				a.sets = append(a.sets, single(pt.lit[i]))
				a.skip = append(a.skip, 0)
			}
			continue
		}
		set := tokenSet
		if pt.cap.kind == kindRange {
			set = digitSet
		}
		end := len(a.sets) + pt.cap.maxLen
		for k := 0; k < pt.cap.maxLen; k++ {
			a.sets = append(a.sets, set)
			s := 0
			if k >= pt.cap.minLen {
				s = end
			}
			a.skip = append(a.skip, s)
		}
	}
	return a
}

// Overlaps reports whether some suffix could match both patterns.
func Overlaps(p, q *Pattern) bool {
	if !shapesOverlap(p.nfa(), q.nfa()) {
		return false
	}
	if sameShape(p, q) {
		for i := range p.parts {
			a, b := p.parts[i].cap, q.parts[i].cap
			if a != nil && a.kind == kindRange && (a.hi < b.lo || b.hi < a.lo) {
				return false
			}
		}
	}
	return true
}

// shapesOverlap searches the product of the two automata for a common
// accepted string.
func shapesOverlap(a, b nfa) bool {
	na, nb := len(a.sets), len(b.sets)
	seen := make([]bool, (na+1)*(nb+1))
	stack := [][2]int{{0, 0}}
	seen[0] = true
	push := func(i, j int) {
		if k := i*(nb+1) + j; !seen[k] {
			seen[k] = true
			stack = append(stack, [2]int{i, j})
		}
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i, j := s[0], s[1]
		if i == na && j == nb {
			return true
		}
		if i < na && a.skip[i] > 0 {
			push(a.skip[i], j)
		}
		if j < nb && b.skip[j] > 0 {
			push(i, b.skip[j])
		}
		if i < na && j < nb && a.sets[i].meets(b.sets[j]) {
			push(i+1, j+1)
		}
	}
	return false
}

// sameShape: the same literals and fixed-width ranges of the same widths.
func sameShape(p, q *Pattern) bool {
	if len(p.parts) != len(q.parts) {
		return false
	}
	for i := range p.parts {
		a, b := p.parts[i], q.parts[i]
		switch {
		case (a.cap == nil) != (b.cap == nil):
			return false
		case a.cap == nil:
			if a.lit != b.lit {
				return false
			}
		case a.cap.kind != kindRange || !a.cap.fixed || b.cap.kind != kindRange || !b.cap.fixed || a.cap.minLen != b.cap.minLen || a.cap.maxLen != b.cap.maxLen:
			return false
		}
	}
	return true
}
