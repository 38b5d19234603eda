package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
)

// valueArg is one parsed INDEX:TYPE=DATA or TYPE=DATA argument.
type valueArg struct {
	Index uint32 // 0 when the argument gave none
	Type  string
	Data  []byte
}

// readFile reads the file of an "@FILE" data argument; tests replace it.
var readFile = os.ReadFile

// parseValueArg parses one value argument:
//
//	INDEX:TYPE=DATA   value at INDEX (1..2^31-1)
//	TYPE=DATA         value at the next free index
//
// Only the first "=" separates, so DATA may contain "=". A TYPE may
// contain ":" as long as what precedes the first ":" is not all digits.
// DATA "@FILE" reads the file's bytes; "@@..." stands for a literal
// "@...".
func parseValueArg(arg string) (valueArg, error) {
	q := truncate(arg, 60) // for messages
	head, data, ok := strings.Cut(arg, "=")
	if !ok {
		return valueArg{}, fmt.Errorf("value %q: want INDEX:TYPE=DATA or TYPE=DATA", q)
	}
	var v valueArg
	v.Type = head
	if idx, typ, ok := strings.Cut(head, ":"); ok && idx != "" && allDigits(idx) {
		n, err := strconv.ParseUint(idx, 10, 32)
		if err != nil || n == 0 || n > value.MaxIndex {
			return valueArg{}, fmt.Errorf("value %q: index %s out of range 1..%d", q, idx, value.MaxIndex)
		}
		v.Index, v.Type = uint32(n), typ
	}
	if v.Type == "" {
		return valueArg{}, fmt.Errorf("value %q: empty type", q)
	}
	switch {
	case strings.HasPrefix(data, "@@"):
		v.Data = []byte(data[1:])
	case strings.HasPrefix(data, "@"):
		if len(data) == 1 {
			return valueArg{}, fmt.Errorf("value %q: @ needs a file name (write @@ for a literal @)", q)
		}
		b, err := readFile(data[1:])
		if err != nil {
			return valueArg{}, fmt.Errorf("value %q: %w", q, err)
		}
		v.Data = b
	default:
		v.Data = []byte(data)
	}
	if len(v.Data) > value.MaxDataLen {
		return valueArg{}, fmt.Errorf("value %q: data is %d bytes, more than %d", q, len(v.Data), value.MaxDataLen)
	}
	return v, nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// valueOptions apply to every value of one command line.
type valueOptions struct {
	TTL     uint32 // 0: the server's default
	Private bool
	// RequireIndex refuses TYPE=DATA (for set, where an index says which
	// value to replace).
	RequireIndex bool
}

// parseValueArgs parses value arguments into values. Explicit indexes are
// kept; the others get the smallest free indexes in order, starting at 1.
// An index given twice is an error.
func parseValueArgs(args []string, opt valueOptions) ([]*idresv1.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no values: give INDEX:TYPE=DATA or TYPE=DATA")
	}
	parsed := make([]valueArg, len(args))
	used := map[uint32]bool{}
	for i, a := range args {
		v, err := parseValueArg(a)
		if err != nil {
			return nil, err
		}
		if v.Index == 0 && opt.RequireIndex {
			return nil, fmt.Errorf("value %q: give the index to set, as INDEX:TYPE=DATA", truncate(a, 60))
		}
		if v.Index != 0 {
			if used[v.Index] {
				return nil, fmt.Errorf("value %q: index %d given twice", truncate(a, 60), v.Index)
			}
			used[v.Index] = true
		}
		parsed[i] = v
	}
	next := uint32(1)
	out := make([]*idresv1.Value, len(parsed))
	for i, p := range parsed {
		if p.Index == 0 {
			for used[next] {
				next++
			}
			p.Index = next
			used[next] = true
		}
		v := &idresv1.Value{Index: p.Index, Type: p.Type, Data: p.Data}
		if opt.TTL != 0 {
			ttl := opt.TTL
			v.Ttl = &ttl
		}
		if opt.Private {
			f := false
			v.PublicRead = &f
		}
		out[i] = v
	}
	return out, nil
}

// parseIndex parses an index argument (rm-value, --index).
func parseIndex(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 || n > value.MaxIndex {
		return 0, fmt.Errorf("index %q: want an integer 1..%d", s, value.MaxIndex)
	}
	return uint32(n), nil
}
