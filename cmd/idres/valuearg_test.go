package main

import (
	"bytes"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// fakeFiles stands in for the file system of "@FILE" arguments.
func fakeFiles(t testing.TB, files map[string]string) {
	old := readFile
	readFile = func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	t.Cleanup(func() { readFile = old })
}

func TestParseValueArg(t *testing.T) {
	fakeFiles(t, map[string]string{"logo.png": "\x89PNG\x00", "empty": ""})
	tests := []struct {
		arg     string
		want    valueArg
		wantErr string
	}{
		{arg: "1:URL=https://example.com/a", want: valueArg{1, "URL", []byte("https://example.com/a")}},
		{arg: "URL=https://example.com/a", want: valueArg{0, "URL", []byte("https://example.com/a")}},
		{arg: "7:batch=B=7", want: valueArg{7, "batch", []byte("B=7")}},       // only the first = separates
		{arg: "note=", want: valueArg{0, "note", []byte{}}},                   // empty data is allowed
		{arg: "urn:x=1", want: valueArg{0, "urn:x", []byte("1")}},             // ":" in a type
		{arg: "3:urn:x=1", want: valueArg{3, "urn:x", []byte("1")}},           // index then a type with ":"
		{arg: "2147483647:t=d", want: valueArg{2147483647, "t", []byte("d")}}, // largest index
		{arg: "007:t=d", want: valueArg{7, "t", []byte("d")}},                 // leading zeros
		{arg: "1:Hersteller=Müller", want: valueArg{1, "Hersteller", []byte("Müller")}},
		{arg: "logo=@logo.png", want: valueArg{0, "logo", []byte("\x89PNG\x00")}}, // file
		{arg: "e=@empty", want: valueArg{0, "e", []byte("")}},
		{arg: "mail=@@host", want: valueArg{0, "mail", []byte("@host")}}, // @@ escapes
		{arg: ":t=d", want: valueArg{0, ":t", []byte("d")}},              // empty index part: a type starting with ":"
		{arg: "URL", wantErr: "want INDEX:TYPE=DATA"},
		{arg: "", wantErr: "want INDEX:TYPE=DATA"},
		{arg: "=data", wantErr: "empty type"},
		{arg: "1:=data", wantErr: "empty type"},
		{arg: "0:URL=x", wantErr: "index 0 out of range"},
		{arg: "2147483648:URL=x", wantErr: "out of range"},
		{arg: "99999999999999999999:URL=x", wantErr: "out of range"},
		{arg: "x=@", wantErr: "@ needs a file name"},
		{arg: "x=@missing", wantErr: "file does not exist"},
		{arg: "x=" + strings.Repeat("a", 64<<10+1), wantErr: "more than 65536"},
	}
	for _, tt := range tests {
		t.Run(truncate(tt.arg, 30), func(t *testing.T) {
			got, err := parseValueArg(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseValueArg(%q) error = %v, want one containing %q", tt.arg, err, tt.wantErr)
				}
				if len(err.Error()) > 200 {
					t.Errorf("error message is %d bytes long; it should quote a shortened argument", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatalf("parseValueArg(%q): %v", tt.arg, err)
			}
			if got.Index != tt.want.Index || got.Type != tt.want.Type || !bytes.Equal(got.Data, tt.want.Data) {
				t.Errorf("parseValueArg(%q) = %+v, want %+v", tt.arg, got, tt.want)
			}
		})
	}
}

func TestParseValueArgs(t *testing.T) {
	v := func(i uint32, typ, data string) *idresv1.Value {
		return &idresv1.Value{Index: i, Type: typ, Data: []byte(data)}
	}
	tests := []struct {
		name    string
		args    []string
		opt     valueOptions
		want    []*idresv1.Value
		wantErr string
	}{
		{name: "bare values get 1, 2, 3", args: []string{"URL=u", "a=b", "c=d"},
			want: []*idresv1.Value{v(1, "URL", "u"), v(2, "a", "b"), v(3, "c", "d")}},
		{name: "bare values skip explicit indexes", args: []string{"URL=u", "1:a=b", "c=d", "3:e=f"},
			want: []*idresv1.Value{v(2, "URL", "u"), v(1, "a", "b"), v(4, "c", "d"), v(3, "e", "f")}},
		{name: "explicit indexes kept", args: []string{"100:URL=u", "5:a=b"},
			want: []*idresv1.Value{v(100, "URL", "u"), v(5, "a", "b")}},
		{name: "ttl and private apply to all", args: []string{"1:a=b", "c=d"}, opt: valueOptions{TTL: 60, Private: true},
			want: []*idresv1.Value{
				{Index: 1, Type: "a", Data: []byte("b"), Ttl: proto.Uint32(60), PublicRead: proto.Bool(false)},
				{Index: 2, Type: "c", Data: []byte("d"), Ttl: proto.Uint32(60), PublicRead: proto.Bool(false)}}},
		{name: "set requires indexes", args: []string{"1:a=b", "c=d"}, opt: valueOptions{RequireIndex: true}, wantErr: "give the index to set"},
		{name: "duplicate index", args: []string{"1:a=b", "1:c=d"}, wantErr: "index 1 given twice"},
		{name: "none", args: nil, wantErr: "no values"},
		{name: "one bad", args: []string{"a=b", "nope"}, wantErr: `value "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseValueArgs(tt.args, tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d values, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !proto.Equal(got[i], tt.want[i]) {
					t.Errorf("value %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseIndex(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"1", 1, true}, {"2147483647", 2147483647, true}, {"0", 0, false}, {"-1", 0, false},
		{"2147483648", 0, false}, {"x", 0, false}, {"", 0, false}, {"1.5", 0, false},
	}
	for _, tt := range tests {
		got, err := parseIndex(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseIndex(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseValueArg checks that the parser never panics, that whatever it
// accepts satisfies the value rules it promises (index range, non-empty
// type, data size), and that an accepted INDEX:TYPE=DATA form re-parses to
// the same value.
func FuzzParseValueArg(f *testing.F) {
	for _, s := range []string{"1:URL=https://x", "URL=x", "7:b=B=7", "urn:x=1", "3:urn:x=1", "=x", "0:a=b",
		"x=@@y", "x=@", ":t=d", "2147483648:a=b", "1:Hersteller=Müller", "\x00=\xff"} {
		f.Add(s)
	}
	fakeFiles(f, map[string]string{})
	f.Fuzz(func(t *testing.T, arg string) {
		v, err := parseValueArg(arg)
		if err != nil {
			if v.Type != "" || v.Index != 0 || v.Data != nil {
				t.Fatalf("error %v with a non-zero value %+v", err, v)
			}
			return
		}
		if v.Type == "" {
			t.Fatalf("accepted %q with an empty type", arg)
		}
		if v.Index > 1<<31-1 {
			t.Fatalf("accepted %q with index %d", arg, v.Index)
		}
		if len(v.Data) > 64<<10 {
			t.Fatalf("accepted %q with %d bytes of data", arg, len(v.Data))
		}
		if strings.Contains(v.Type, "=") {
			t.Fatalf("type %q contains '='", v.Type)
		}
		// The canonical form re-parses to the same value (data starting
		// with "@" would name a file, so it is written "@@").
		data := string(v.Data)
		if strings.HasPrefix(data, "@") {
			data = "@" + data
		}
		canon := v.Type + "=" + data
		if v.Index != 0 {
			canon = strconv.FormatUint(uint64(v.Index), 10) + ":" + canon
		}
		w, err := parseValueArg(canon)
		if err != nil || w.Index != v.Index || w.Type != v.Type || !bytes.Equal(w.Data, v.Data) {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", canon, w, err, v)
		}
	})
}
