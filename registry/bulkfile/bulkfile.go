// Package bulkfile reads and writes the files of `idres import` and
// `idres export`: CSV (one row per value, header
// identifier,index,type,data[,ttl], the rows of one identifier
// consecutive) and JSON lines (one identifier with its values per line,
// the form export writes). It owns the file formats only: it checks shape
// and numbers, never identifier syntax or value rules, which the node
// applies on import.
package bulkfile

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Item is one identifier read from a file, with the line it starts on.
type Item struct {
	Line       int
	Identifier string
	Values     []*idresv1.Value
}

// LineError is a malformed item: the reader skipped it and can go on.
type LineError struct {
	Line       int
	Identifier string // when known
	Err        error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Reader yields items. Next returns io.EOF at the end, a *LineError for a
// malformed item (call Next again for the rest), any other error when the
// file cannot be read further.
type Reader interface {
	Next() (*Item, error)
}

// Format names a file format.
type Format string

const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// FormatOf guesses the format from a file name, or "" when it cannot.
func FormatOf(name string) Format {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".csv"):
		return CSV
	case strings.HasSuffix(n, ".jsonl"), strings.HasSuffix(n, ".ndjson"), strings.HasSuffix(n, ".json"):
		return JSONL
	}
	return ""
}

// NewReader reads r in format f; "" sniffs: a file whose first non-blank
// byte is '{' is JSON lines, anything else CSV.
func NewReader(r io.Reader, f Format) (Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if f == "" {
		f = sniff(br)
	}
	switch f {
	case CSV:
		return newCSVReader(br)
	case JSONL:
		return newJSONLReader(br), nil
	}
	return nil, fmt.Errorf("unknown format %q (csv or jsonl)", f)
}

// sniff looks past leading blanks (and a byte order mark) without
// consuming them, so line numbers stay right.
func sniff(br *bufio.Reader) Format {
	for n := 1; n <= 4096; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return CSV
		}
		switch c := b[n-1]; {
		case c == '{':
			return JSONL
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF:
		default:
			return CSV
		}
		if err != nil {
			return CSV
		}
	}
	return CSV
}

// --- data encoding shared by both formats

// base64Prefix marks value data that is not shown as text.
const base64Prefix = "base64:"

// EncodeData renders value data as text when it is valid UTF-8 without
// control characters other than tab and newline and does not itself start
// with "base64:"; otherwise as "base64:" and standard base64.
func EncodeData(b []byte) string {
	if utf8.Valid(b) && !bytes.HasPrefix(b, []byte(base64Prefix)) && !bytes.ContainsFunc(b, isControl) {
		return string(b)
	}
	return base64Prefix + base64.StdEncoding.EncodeToString(b)
}

// DecodeData reverses EncodeData.
func DecodeData(s string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(s, base64Prefix); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("data: bad base64 after %q: %w", base64Prefix, err)
		}
		return b, nil
	}
	return []byte(s), nil
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// --- CSV

type csvReader struct {
	r       *csv.Reader
	hasTTL  bool
	pending []string // first row of the next identifier
	pendAt  int
	done    bool
	err     error // a fatal error, returned after the item before it
}

var csvHeader = []string{"identifier", "index", "type", "data"}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line 1: empty file: want the header %s[,ttl]", strings.Join(csvHeader, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\uFEFF")
	}
	ok := len(head) == 4 || len(head) == 5 && strings.EqualFold(strings.TrimSpace(head[4]), "ttl")
	for i := 0; ok && i < 4; i++ {
		ok = strings.EqualFold(strings.TrimSpace(head[i]), csvHeader[i])
	}
	if !ok {
		return nil, fmt.Errorf("line 1: header is %q, want %s[,ttl]", strings.Join(head, ","), strings.Join(csvHeader, ","))
	}
	return &csvReader{r: cr, hasTTL: len(head) == 5}, nil
}

// row reads the next row and the line it starts on.
func (c *csvReader) row() ([]string, int, error) {
	if c.pending != nil {
		r, l := c.pending, c.pendAt
		c.pending = nil
		return r, l, nil
	}
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// The csv package cannot resynchronise after a broken quote;
			// stop here with the line.
			return nil, pe.StartLine, fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
		}
		return nil, 0, err
	}
	// FieldPos panics without a record: ask only after a good read.
	line, _ := c.r.FieldPos(0)
	return rec, line, nil
}

func (c *csvReader) Next() (*Item, error) {
	if c.done {
		if err := c.err; err != nil {
			c.err = nil
			return nil, err
		}
		return nil, io.EOF
	}
	var it *Item
	var bad *LineError
	for {
		rec, line, err := c.row()
		if errors.Is(err, io.EOF) {
			c.done = true
			break
		}
		if err != nil {
			c.done = true
			if it != nil {
				// Hand out what is complete; the error comes next time.
				c.err = err
				return c.finish(it, bad)
			}
			return nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		id := ""
		if len(rec) > 0 {
			id = rec[0]
		}
		if it != nil && id != it.Identifier {
			c.pending, c.pendAt = rec, line
			break
		}
		if it == nil {
			it = &Item{Line: line, Identifier: id}
		}
		v, err := c.value(rec)
		if err != nil {
			if bad == nil {
				bad = &LineError{Line: line, Identifier: id, Err: err}
			}
			continue
		}
		it.Values = append(it.Values, v)
	}
	if it == nil {
		return nil, io.EOF
	}
	return c.finish(it, bad)
}

func (c *csvReader) finish(it *Item, bad *LineError) (*Item, error) {
	if bad != nil {
		return nil, bad
	}
	return it, nil
}

func (c *csvReader) value(rec []string) (*idresv1.Value, error) {
	want := 4
	if c.hasTTL {
		want = 5
	}
	if len(rec) != want {
		return nil, fmt.Errorf("%d fields, want %d", len(rec), want)
	}
	if rec[0] == "" {
		return nil, errors.New("identifier is empty")
	}
	idx, err := strconv.ParseUint(strings.TrimSpace(rec[1]), 10, 32)
	if err != nil || idx == 0 {
		return nil, fmt.Errorf("index %q is not a number from 1 to %d", rec[1], uint32(1<<32-1))
	}
	data, err := DecodeData(rec[3])
	if err != nil {
		return nil, err
	}
	v := &idresv1.Value{Index: uint32(idx), Type: rec[2], Data: data}
	if c.hasTTL && strings.TrimSpace(rec[4]) != "" {
		ttl, err := strconv.ParseUint(strings.TrimSpace(rec[4]), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("ttl %q is not a number of seconds", rec[4])
		}
		t := uint32(ttl)
		v.Ttl = &t
	}
	return v, nil
}

// --- JSON lines

// jsonItem is the shape of one JSON line.
type jsonItem struct {
	Identifier string      `json:"identifier"`
	Values     []jsonValue `json:"values"`
}

type jsonValue struct {
	Index      uint32  `json:"index"`
	Type       string  `json:"type"`
	Data       string  `json:"data"`
	TTL        *uint32 `json:"ttl,omitempty"`
	PublicRead *bool   `json:"public_read,omitempty"`
}

type jsonlReader struct {
	s    *bufio.Scanner
	line int
	slab []byte // where NextPending keeps lines
}

// slabSize is the unit in which NextPending copies lines: a window of a
// million lines is then a few hundred allocations, not a million.
const slabSize = 1 << 20

// MaxLine bounds one JSON line: 1000 values of 64 KiB, base64-encoded,
// would be more than any node accepts in one message anyway.
const MaxLine = 64 << 20

func newJSONLReader(r io.Reader) *jsonlReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxLine)
	return &jsonlReader{s: s}
}

func (j *jsonlReader) Next() (*Item, error) {
	p, err := j.NextPending()
	if err != nil {
		return nil, err
	}
	return p.Decode()
}

// Pending is an item read but not decoded yet: its line, its identifier as
// far as a quick look tells ("" when it cannot), and Decode for the rest.
type Pending struct {
	Line       int
	Identifier string
	raw        []byte
}

// DeferredReader is a Reader that can hand out items before decoding them,
// so a caller that reorders items (idres import's sort window) keeps raw
// lines, not decoded items, and decodes them while it sends.
type DeferredReader interface {
	Reader
	// NextPending is Next without the decoding: a malformed line shows
	// up as Decode's *LineError.
	NextPending() (*Pending, error)
}

var identifierHead = []byte(`{"identifier":"`)

// NextPending implements DeferredReader.
func (j *jsonlReader) NextPending() (*Pending, error) {
	for j.s.Scan() {
		j.line++
		raw := bytes.TrimSpace(j.s.Bytes())
		if len(raw) == 0 {
			continue
		}
		if cap(j.slab)-len(j.slab) < len(raw) {
			j.slab = make([]byte, 0, max(slabSize, len(raw)))
		}
		start := len(j.slab)
		j.slab = append(j.slab, raw...)
		p := &Pending{Line: j.line, raw: j.slab[start:len(j.slab):len(j.slab)]}
		// The shape export writes; anything else is decoded to learn it.
		if rest, ok := bytes.CutPrefix(raw, identifierHead); ok {
			if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
				p.Identifier = string(rest[:end])
			}
		}
		return p, nil
	}
	if err := j.s.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", j.line+1, err)
	}
	return nil, io.EOF
}

// Decode parses the line; a malformed one is a *LineError.
func (p *Pending) Decode() (*Item, error) {
	if it, ok := decodeExportLine(p.raw, p.Line); ok {
		return it, nil
	}
	var ji jsonItem
	dec := json.NewDecoder(bytes.NewReader(p.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ji); err != nil {
		return nil, &LineError{Line: p.Line, Err: fmt.Errorf("bad JSON: %w", err)}
	}
	if dec.More() {
		return nil, &LineError{Line: p.Line, Identifier: ji.Identifier, Err: errors.New("more than one JSON value on the line")}
	}
	if ji.Identifier == "" {
		return nil, &LineError{Line: p.Line, Err: errors.New(`"identifier" is missing or empty`)}
	}
	it := &Item{Line: p.Line, Identifier: ji.Identifier, Values: make([]*idresv1.Value, 0, len(ji.Values))}
	for _, v := range ji.Values {
		data, err := DecodeData(v.Data)
		if err != nil {
			return nil, &LineError{Line: p.Line, Identifier: ji.Identifier, Err: fmt.Errorf("index %d: %w", v.Index, err)}
		}
		it.Values = append(it.Values, &idresv1.Value{Index: v.Index, Type: v.Type, Data: data, Ttl: v.TTL, PublicRead: v.PublicRead})
	}
	return it, nil
}

// AppendJSONL appends id as one JSON line (with its newline) to buf, in
// the shape JSONL readers read back. Timestamps are not written: the node
// that imports the line stamps it.
func AppendJSONL(buf []byte, id *idresv1.Identifier) ([]byte, error) {
	ji := jsonItem{Identifier: id.GetIdentifier(), Values: make([]jsonValue, len(id.GetValues()))}
	for i, v := range id.GetValues() {
		ji.Values[i] = jsonValue{Index: v.GetIndex(), Type: v.GetType(), Data: EncodeData(v.GetData()), TTL: v.Ttl, PublicRead: v.PublicRead}
	}
	raw, err := json.Marshal(ji)
	if err != nil {
		return buf, fmt.Errorf("encode %s: %w", id.GetIdentifier(), err)
	}
	return append(append(buf, raw...), '\n'), nil
}
