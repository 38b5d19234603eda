package template

import (
	"errors"
	"strings"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

func val(index uint32, typ, data string) *idresv1.Value {
	return &idresv1.Value{Index: index, Type: typ, Data: []byte(data)}
}

func TestKinds(t *testing.T) {
	tests := []struct {
		kind    string
		choices []string
		data    string
		ok      bool
	}{
		{KindString, nil, "anything at all", true},
		{KindString, nil, "", true},
		{KindString, nil, "\xff\xfe", false},

		{KindInt, nil, "0", true},
		{KindInt, nil, "-42", true},
		{KindInt, nil, "+7", true},
		{KindInt, nil, "123456789012345678901234567890", true},
		{KindInt, nil, "1.5", false},
		{KindInt, nil, "1_000", false},
		{KindInt, nil, "0x10", false},
		{KindInt, nil, "", false},
		{KindInt, nil, " 1", false},

		{KindDecimal, nil, "3.14", true},
		{KindDecimal, nil, "-0.5", true},
		{KindDecimal, nil, "10", true},
		{KindDecimal, nil, "1e5", false},
		{KindDecimal, nil, ".5", false},
		{KindDecimal, nil, "5.", false},
		{KindDecimal, nil, "1,5", false},

		{KindDate, nil, "2026-11-25", true},
		{KindDate, nil, "2024-02-29", true},
		{KindDate, nil, "2026-02-29", false},
		{KindDate, nil, "2026-13-01", false},
		{KindDate, nil, "25.11.2026", false},
		{KindDate, nil, "2026-11-25T00:00:00Z", false},

		{KindDateTime, nil, "2026-11-25T15:04:05Z", true},
		{KindDateTime, nil, "2026-11-25T15:04:05.123+01:00", true},
		{KindDateTime, nil, "2026-11-25t15:04:05z", true},
		{KindDateTime, nil, "2026-11-25T15:04:05", false},
		{KindDateTime, nil, "2026-11-25 15:04:05Z", false},
		{KindDateTime, nil, "2026-11-25", false},
		{KindDateTime, nil, "2026-11-25T25:04:05Z", false},

		{KindURL, nil, "https://example.com/p/1", true},
		{KindURL, nil, "HTTP://example.com", true},
		{KindURL, nil, "urn:isbn:0451450523", true},
		{KindURL, nil, "mailto:a@example.com", true},
		{KindURL, nil, "example.com/p/1", false},
		{KindURL, nil, "https:///nohost", false},
		{KindURL, nil, "https://exa mple.com", false},
		{KindURL, nil, "http://[::1", false},
		{KindURL, nil, "foo:", false},

		{KindEnum, []string{"red", "green"}, "red", true},
		{KindEnum, []string{"red", "green"}, "Red", false},
		{KindEnum, []string{"red", "green"}, "blue", false},

		{KindGTIN, nil, "4006381333931", true}, // GTIN-13
		{KindGTIN, nil, "96385074", true},      // GTIN-8
		{KindGTIN, nil, "036000291452", true},  // GTIN-12 (UPC-A)
		{KindGTIN, nil, "10012345678902", true},
		{KindGTIN, nil, "4006381333932", false}, // wrong check digit
		{KindGTIN, nil, "400638133393", false},  // 12 digits, wrong check
		{KindGTIN, nil, "40063813339", false},   // 11 digits
		{KindGTIN, nil, "400638133393a", false},
		{KindGTIN, nil, "a006381333931", false},
	}
	for _, tc := range tests {
		c, err := Compile(&idresv1.Template{Prefix: "88.100", Fields: []*idresv1.TemplateField{{Type: "f", Kind: tc.kind, Choices: tc.choices}}})
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.kind, err)
		}
		err = c.Check([]*idresv1.Value{val(3, "f", tc.data)})
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: err = %v, want ok=%v", tc.kind, tc.data, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrViolation) {
				t.Errorf("%s %q: err %v is not ErrViolation", tc.kind, tc.data, err)
			}
			for _, want := range []string{`field "f"`, "rule " + tc.kind, "index 3", `template of "88.100"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s %q: message %q lacks %q", tc.kind, tc.data, err, want)
				}
			}
		}
	}
}

func TestRules(t *testing.T) {
	f := func(mod func(*idresv1.TemplateField)) *idresv1.Template {
		fl := &idresv1.TemplateField{Type: "batch", Kind: KindString}
		mod(fl)
		return &idresv1.Template{Fields: []*idresv1.TemplateField{fl}}
	}
	tests := []struct {
		name     string
		tpl      *idresv1.Template
		vals     []*idresv1.Value
		wantRule string // "" for no violation
	}{
		{"required present", f(func(f *idresv1.TemplateField) { f.Required = true }), []*idresv1.Value{val(1, "batch", "B1")}, ""},
		{"required present other case", f(func(f *idresv1.TemplateField) { f.Required = true }), []*idresv1.Value{val(1, "BATCH", "B1")}, ""},
		{"required missing", f(func(f *idresv1.TemplateField) { f.Required = true }), []*idresv1.Value{val(1, "URL", "https://x")}, "rule required"},
		{"optional missing", f(func(*idresv1.TemplateField) {}), []*idresv1.Value{val(1, "URL", "https://x")}, ""},
		{"min_length ok", f(func(f *idresv1.TemplateField) { f.MinLength = 2 }), []*idresv1.Value{val(1, "batch", "ab")}, ""},
		{"min_length counts characters", f(func(f *idresv1.TemplateField) { f.MinLength = 3 }), []*idresv1.Value{val(1, "batch", "äö")}, "rule min_length"},
		{"max_length ok", f(func(f *idresv1.TemplateField) { f.MaxLength = 2 }), []*idresv1.Value{val(1, "batch", "äö")}, ""},
		{"max_length broken", f(func(f *idresv1.TemplateField) { f.MaxLength = 2 }), []*idresv1.Value{val(1, "batch", "abc")}, "rule max_length"},
		{"pattern ok", f(func(f *idresv1.TemplateField) { f.Pattern = "B[0-9]+" }), []*idresv1.Value{val(1, "batch", "B12")}, ""},
		{"pattern is anchored", f(func(f *idresv1.TemplateField) { f.Pattern = "B[0-9]+" }), []*idresv1.Value{val(1, "batch", "xB12x")}, "rule pattern"},
		{"pattern alternation anchored", f(func(f *idresv1.TemplateField) { f.Pattern = "a|b" }), []*idresv1.Value{val(1, "batch", "ab")}, "rule pattern"},
		{"every value of the type checked", f(func(f *idresv1.TemplateField) { f.Pattern = "B[0-9]+" }), []*idresv1.Value{val(1, "batch", "B1"), val(2, "batch", "C1")}, "value index 2"},
		{"open template allows other types", f(func(*idresv1.TemplateField) {}), []*idresv1.Value{val(1, "colour", "red")}, ""},
		{"closed template refuses other types", func() *idresv1.Template {
			t := f(func(*idresv1.TemplateField) {})
			t.Closed = true
			return t
		}(), []*idresv1.Value{val(1, "colour", "red")}, "rule closed"},
		{"kind checked before length", f(func(f *idresv1.TemplateField) { f.Kind = KindInt; f.MaxLength = 1 }), []*idresv1.Value{val(1, "batch", "x")}, "rule int"},
	}
	for _, tc := range tests {
		c, err := Compile(tc.tpl)
		if err != nil {
			t.Fatalf("%s: Compile: %v", tc.name, err)
		}
		err = c.Check(tc.vals)
		switch {
		case tc.wantRule == "" && err != nil:
			t.Errorf("%s: unexpected %v", tc.name, err)
		case tc.wantRule != "" && (err == nil || !strings.Contains(err.Error(), tc.wantRule)):
			t.Errorf("%s: err = %v, want one naming %q", tc.name, err, tc.wantRule)
		}
	}
}

func TestMessageCutsLongValues(t *testing.T) {
	c, _ := Compile(&idresv1.Template{Fields: []*idresv1.TemplateField{{Type: "n", Kind: KindInt}}})
	err := c.Check([]*idresv1.Value{val(1, "n", strings.Repeat("x", 10000))})
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "...") {
		t.Errorf("err = %v (len %d), want a short message with the value cut", err, len(err.Error()))
	}
	if !strings.Contains(err.Error(), "template of the root") {
		t.Errorf("err = %v, want it to name the root", err)
	}
}

func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name   string
		fields []*idresv1.TemplateField
		want   string
	}{
		{"no type", []*idresv1.TemplateField{{Kind: KindString}}, "type is required"},
		{"nil field", []*idresv1.TemplateField{nil}, "type is required"},
		{"unknown kind", []*idresv1.TemplateField{{Type: "a", Kind: "float"}}, "unknown kind"},
		{"empty kind", []*idresv1.TemplateField{{Type: "a"}}, "unknown kind"},
		{"duplicate", []*idresv1.TemplateField{{Type: "a", Kind: KindString}, {Type: "A", Kind: KindInt}}, "twice"},
		{"enum without choices", []*idresv1.TemplateField{{Type: "a", Kind: KindEnum}}, "needs choices"},
		{"choices on string", []*idresv1.TemplateField{{Type: "a", Kind: KindString, Choices: []string{"x"}}}, "only for kind enum"},
		{"min over max", []*idresv1.TemplateField{{Type: "a", Kind: KindString, MinLength: 5, MaxLength: 4}}, "min_length"},
		{"bad pattern", []*idresv1.TemplateField{{Type: "a", Kind: KindString, Pattern: "("}}, "pattern"},
		{"long pattern", []*idresv1.TemplateField{{Type: "a", Kind: KindString, Pattern: strings.Repeat("a", MaxPatternLen+1)}}, "pattern"},
		{"bad type", []*idresv1.TemplateField{{Type: "\xff", Kind: KindString}}, "UTF-8"},
	}
	for _, tc := range tests {
		_, err := Compile(&idresv1.Template{Fields: tc.fields})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalid naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := Compile(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Compile(nil) = %v", err)
	}
	if _, err := Compile(&idresv1.Template{Fields: make([]*idresv1.TemplateField, MaxFields+1)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many fields: %v", err)
	}
}

// FuzzCheck: no input makes Compile or Check panic, a violation is always
// ErrViolation, and a GTIN that passes has a correct check digit by an
// independent computation.
func FuzzCheck(f *testing.F) {
	for _, k := range Kinds {
		f.Add(k, "", "4006381333931")
		f.Add(k, "[0-9]+", "2026-11-25T15:04:05Z")
	}
	f.Add(KindURL, "", "https://example.com")
	f.Add(KindDecimal, ".*", "-1.5")
	f.Fuzz(func(t *testing.T, kind, pattern, data string) {
		fl := &idresv1.TemplateField{Type: "f", Kind: kind, Pattern: pattern, MaxLength: 40}
		if kind == KindEnum {
			fl.Choices = []string{"a", data}
		}
		c, err := Compile(&idresv1.Template{Fields: []*idresv1.TemplateField{fl}})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Compile error %v is not ErrInvalid", err)
			}
			return
		}
		err = c.Check([]*idresv1.Value{val(1, "f", data)})
		if err != nil && !errors.Is(err, ErrViolation) {
			t.Fatalf("Check error %v is not ErrViolation", err)
		}
		if err == nil && kind == KindGTIN {
			sum := 0
			for i := range len(data) {
				w := 1
				if (len(data)-i)%2 == 0 {
					w = 3
				}
				sum += int(data[i]-'0') * w
			}
			if sum%10 != 0 {
				t.Fatalf("GTIN %q accepted with a wrong check digit", data)
			}
		}
	})
}

// BenchmarkCheck: checking a typical part record (6 values) against a
// 5-field template, as every write of an identifier under it does.
func BenchmarkCheck(b *testing.B) {
	c, err := Compile(&idresv1.Template{Fields: []*idresv1.TemplateField{
		{Type: "gtin", Kind: KindGTIN, Required: true},
		{Type: "production_date", Kind: KindDate},
		{Type: "batch", Kind: KindString, Pattern: "B[0-9]{4,8}"},
		{Type: "colour", Kind: KindEnum, Choices: []string{"red", "green", "blue"}},
		{Type: "URL", Kind: KindURL, Required: true},
	}})
	if err != nil {
		b.Fatal(err)
	}
	vals := []*idresv1.Value{
		val(1, "URL", "https://acme.example/parts/0001"), val(2, "gtin", "4006381333931"),
		val(3, "production_date", "2026-11-25"), val(4, "batch", "B20261125"),
		val(5, "colour", "red"), val(6, "note", "free text"),
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Check(vals); err != nil {
			b.Fatal(err)
		}
	}
}
