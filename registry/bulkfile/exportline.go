package bulkfile

import (
	"bytes"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// decodeExportLine decodes a line in exactly the shape AppendJSONL writes
// (keys in its order, no spaces, no escapes, plain numbers) without
// encoding/json, whose reflection was half of `idres import`'s CPU. It
// reports false for anything else, and the line goes to encoding/json,
// which decides (and words any error) as before.
func decodeExportLine(raw []byte, line int) (*Item, bool) {
	p := exportParser{b: raw}
	if !p.lit(`{"identifier":"`) {
		return nil, false
	}
	id, ok := p.str()
	if !ok || id == "" || !p.lit(`,"values":[`) {
		return nil, false
	}
	it := &Item{Line: line, Identifier: id, Values: make([]*idresv1.Value, 0, 4)}
	for first := true; !p.lit("]"); first = false {
		if !first && !p.lit(",") {
			return nil, false
		}
		v := &idresv1.Value{}
		var data string
		idx, ok := p.lit(`{"index":`), false
		if idx {
			v.Index, ok = p.uint32()
		}
		if !ok || !p.lit(`,"type":"`) {
			return nil, false
		}
		if v.Type, ok = p.str(); !ok || !p.lit(`,"data":"`) {
			return nil, false
		}
		if data, ok = p.str(); !ok {
			return nil, false
		}
		if p.lit(`,"ttl":`) {
			t, ok := p.uint32()
			if !ok {
				return nil, false
			}
			v.Ttl = &t
		}
		if p.lit(`,"public_read":`) {
			b := p.lit("true")
			if !b && !p.lit("false") {
				return nil, false
			}
			v.PublicRead = &b
		}
		if !p.lit("}") {
			return nil, false
		}
		d, err := DecodeData(data)
		if err != nil {
			return nil, false
		}
		v.Data = d
		it.Values = append(it.Values, v)
	}
	if !p.lit("}") || len(p.b) != 0 {
		return nil, false
	}
	return it, true
}

type exportParser struct{ b []byte }

// lit consumes s if the input starts with it.
func (p *exportParser) lit(s string) bool {
	if len(p.b) < len(s) || string(p.b[:len(s)]) != s {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

// str consumes a string's contents and its closing quote: only strings
// encoding/json would read back as they stand (valid UTF-8, no escape, no
// control character).
func (p *exportParser) str() (string, bool) {
	end := bytes.IndexByte(p.b, '"')
	if end < 0 {
		return "", false
	}
	s := p.b[:end]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(s) {
		return "", false
	}
	p.b = p.b[end+1:]
	return string(s), true
}

// uint32 consumes a number in plain notation that fits in 32 bits.
func (p *exportParser) uint32() (uint32, bool) {
	n := 0
	var v uint64
	for n < len(p.b) && p.b[n] >= '0' && p.b[n] <= '9' {
		v = v*10 + uint64(p.b[n]-'0')
		if v > 1<<32-1 {
			return 0, false
		}
		n++
	}
	if n == 0 || n > 1 && p.b[0] == '0' {
		return 0, false
	}
	if n < len(p.b) && (p.b[n] == '.' || p.b[n] == 'e' || p.b[n] == 'E') {
		return 0, false
	}
	p.b = p.b[n:]
	return uint32(v), true
}
