package runner

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
)

// operators may appear as mapping keys in an expectation:
//
//	$ne: X         not equal to X
//	$contains: X   a string containing X, or a list with an element matching X
//	$regex: RE     a string matching RE (Go RE2 syntax)
//	$absent: true  missing, null or the zero value
//	$present: true there, and not the zero value
//	$len: N        a list (or string) of N elements (bytes); N may be an operator map
//	$lt/$le/$gt/$ge: N  a number in range
//	$not: X        does not match X
//	$any: [X, Y]   matches one of them
var operators = []string{"$ne", "$contains", "$regex", "$absent", "$present", "$len", "$lt", "$le", "$gt", "$ge", "$not", "$any",
	// In requests only: {$repeat: N, item: X} is a list of N copies of X
	// ("{i}" in X's strings becomes 1..N; a string that is exactly "{i}"
	// becomes the number).
	"$repeat"}

// match compares an actual response tree with an expected one and returns
// a description of every mismatch, each prefixed with its path. A mapping
// checks only the keys it names; a list must have the same length and
// match element by element; a scalar compares as text, so 1 matches "1"
// (protojson renders 64-bit integers as strings) and "OK" matches the
// enum "OUTCOME_OK". Under a key "data", an actual base64 string is
// decoded and compared as text unless the expectation is {base64: ...}.
func match(path string, want, got any) []string {
	if isDataPath(path) {
		if w, ok := want.(map[string]any); ok && len(w) == 1 && w["base64"] != nil {
			return matchScalar(path, w["base64"], got)
		}
		if s, ok := got.(string); ok {
			if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
				got = string(raw)
			}
		}
	}
	switch w := want.(type) {
	case map[string]any:
		if isOperatorMap(w) {
			return matchOps(path, w, got)
		}
		g, ok := got.(map[string]any)
		if !ok {
			if isZero(got) && len(w) == 0 {
				return nil
			}
			return []string{fmt.Sprintf("%s: got %s, want a message", name(path), show(got))}
		}
		var out []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, match(join(path, k), w[k], g[k])...)
		}
		return out
	case []any:
		g, isList := got.([]any)
		if got != nil && !isList {
			return []string{fmt.Sprintf("%s: got %s, want a list", name(path), show(got))}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %d elements, want %d: %s", name(path), len(g), len(w), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, match(fmt.Sprintf("%s.%d", path, i), w[i], g[i])...)
		}
		return out
	}
	return matchScalar(path, want, got)
}

func isDataPath(path string) bool { return path == "data" || strings.HasSuffix(path, ".data") }

func isOperatorMap(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(k, "$") {
			return true
		}
	}
	return false
}

func matchOps(path string, ops map[string]any, got any) []string {
	var out []string
	fail := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: got %s, want %s", name(path), show(got), fmt.Sprintf(format, args...)))
	}
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, op := range keys {
		arg := ops[op]
		switch op {
		case "$ne":
			if len(match(path, arg, got)) == 0 {
				fail("anything but %s", show(arg))
			}
		case "$not":
			if len(match(path, arg, got)) == 0 {
				fail("no match for %s", show(arg))
			}
		case "$any":
			alts, _ := arg.([]any)
			ok := false
			for _, a := range alts {
				if len(match(path, a, got)) == 0 {
					ok = true
					break
				}
			}
			if !ok {
				fail("one of %s", show(arg))
			}
		case "$contains":
			switch g := got.(type) {
			case []any:
				ok := false
				for i, e := range g {
					if len(match(fmt.Sprintf("%s.%d", path, i), arg, e)) == 0 {
						ok = true
						break
					}
				}
				if !ok {
					fail("a list containing %s", show(arg))
				}
			case string:
				if !strings.Contains(g, text(arg)) {
					fail("text containing %q", text(arg))
				}
			default:
				fail("a list or text containing %s", show(arg))
			}
		case "$regex":
			re, err := regexp.Compile(text(arg))
			if err != nil {
				fail("a valid regex (%v)", err)
			} else if s, ok := got.(string); !ok || !re.MatchString(s) {
				fail("text matching /%s/", text(arg))
			}
		case "$absent":
			if truthy(arg) != isZero(got) {
				fail("$absent: %v", arg)
			}
		case "$present":
			if truthy(arg) == isZero(got) {
				fail("$present: %v", arg)
			}
		case "$len":
			n := -1
			switch g := got.(type) {
			case []any:
				n = len(g)
			case string:
				n = len(g)
			case nil:
				n = 0
			}
			if m, ok := arg.(map[string]any); ok {
				if len(matchOps(path+".length", m, n)) > 0 {
					fail("length %s (got length %d)", show(arg), n)
				}
			} else if text(n) != text(arg) {
				fail("length %v (got length %d)", arg, n)
			}
		case "$lt", "$le", "$gt", "$ge":
			a, okA := number(got)
			b, okB := number(arg)
			if !okA || !okB {
				fail("a number %s %v", op[1:], arg)
				continue
			}
			c := a.Cmp(b)
			ok := map[string]bool{"$lt": c < 0, "$le": c <= 0, "$gt": c > 0, "$ge": c >= 0}[op]
			if !ok {
				fail("%s %v", op[1:], arg)
			}
		}
	}
	return out
}

func matchScalar(path string, want, got any) []string {
	if want == nil {
		if isZero(got) {
			return nil
		}
		return []string{fmt.Sprintf("%s: got %s, want nothing", name(path), show(got))}
	}
	if got == nil && isZero(want) {
		return nil
	}
	w, g := text(want), text(got)
	if w == g {
		return nil
	}
	// Enums: "OK" stands for "OUTCOME_OK".
	if gs, ok := got.(string); ok && strings.ToUpper(gs) == gs {
		if _, rest, cut := strings.Cut(gs, "_"); cut && rest == w {
			return nil
		}
	}
	if a, okA := number(got); okA {
		if b, okB := number(want); okB && a.Cmp(b) == 0 {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: got %s, want %s", name(path), show(got), show(want))}
}

func number(x any) (*big.Rat, bool) {
	switch x.(type) {
	case string, json.Number, int, int64, uint64, uint32, float64:
		r, ok := new(big.Rat).SetString(text(x))
		return r, ok
	}
	return nil, false
}

func truthy(x any) bool { b, _ := x.(bool); return b }

// isZero reports whether x is missing or a zero value.
func isZero(x any) bool {
	switch v := x.(type) {
	case nil:
		return true
	case string:
		return v == "" || v == "0" || strings.HasSuffix(v, "_UNSPECIFIED")
	case bool:
		return !v
	case json.Number:
		return v.String() == "0"
	case int:
		return v == 0
	case float64:
		return v == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

func text(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
	}
	return fmt.Sprint(x)
}

func show(x any) string {
	if x == nil {
		return "nothing"
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func name(path string) string {
	if path == "" {
		return "response"
	}
	return path
}

// lookupPath follows a dotted path ("values.0.timestamp") into a tree.
func lookupPath(t any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch v := t.(type) {
		case map[string]any:
			x, ok := v[part]
			if !ok {
				return nil, false
			}
			t = x
		case []any:
			var i int
			if _, err := fmt.Sscanf(part, "%d", &i); err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			t = v[i]
		default:
			return nil, false
		}
	}
	return t, true
}
