package runner

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	obj := func(s string) any {
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad JSON %s: %v", s, err)
		}
		return v
	}
	tests := []struct {
		name      string
		want, got string
		ok        bool
	}{
		{"enum short name", `{"outcome":"OK"}`, `{"outcome":"OUTCOME_OK"}`, true},
		{"enum not a suffix match", `{"outcome":"NOT_FOUND"}`, `{"outcome":"OUTCOME_VALUES_NOT_FOUND"}`, false},
		{"number vs string", `{"n":1}`, `{"n":"1"}`, true},
		{"zero matches absent", `{"b":false,"n":0,"s":""}`, `{}`, true},
		{"extra keys ignored", `{"a":1}`, `{"a":1,"b":2}`, true},
		{"list length", `{"l":[{"i":1}]}`, `{"l":[{"i":1},{"i":2}]}`, false},
		{"list elements", `{"l":[{"i":1},{"i":2}]}`, `{"l":[{"i":1,"x":0},{"i":2}]}`, true},
		{"data decoded", `{"data":"hi"}`, `{"data":"aGk="}`, true},
		{"data base64", `{"data":{"base64":"aGk="}}`, `{"data":"aGk="}`, true},
		{"data wrong", `{"data":"ho"}`, `{"data":"aGk="}`, false},
		{"$ne", `{"a":{"$ne":"x"}}`, `{"a":"y"}`, true},
		{"$ne fails", `{"a":{"$ne":"x"}}`, `{"a":"x"}`, false},
		{"$contains text", `{"a":{"$contains":"ell"}}`, `{"a":"hello"}`, true},
		{"$contains list", `{"l":{"$contains":{"i":2}}}`, `{"l":[{"i":1},{"i":2}]}`, true},
		{"$contains list fails", `{"l":{"$contains":{"i":3}}}`, `{"l":[{"i":1},{"i":2}]}`, false},
		{"$regex", `{"a":{"$regex":"^h.*o$"}}`, `{"a":"hello"}`, true},
		{"$regex non-string", `{"a":{"$regex":"1"}}`, `{"a":1}`, false},
		{"$absent", `{"a":{"$absent":true}}`, `{"a":""}`, true},
		{"$absent fails", `{"a":{"$absent":true}}`, `{"a":"x"}`, false},
		{"$present", `{"a":{"$present":true}}`, `{}`, false},
		{"$len", `{"l":{"$len":2}}`, `{"l":[1,2]}`, true},
		{"$len matcher", `{"l":{"$len":{"$ge":3}}}`, `{"l":[1,2]}`, false},
		{"$le", `{"n":{"$le":300}}`, `{"n":300}`, true},
		{"$lt", `{"n":{"$lt":300}}`, `{"n":"300"}`, false},
		{"$gt big", `{"n":{"$gt":"18446744073709551614"}}`, `{"n":"18446744073709551615"}`, true},
		{"$not", `{"a":{"$not":{"$contains":"x"}}}`, `{"a":"abc"}`, true},
		{"$any", `{"s":{"$any":[302,303]}}`, `{"s":303}`, true},
		{"$any fails", `{"s":{"$any":[302,303]}}`, `{"s":200}`, false},
		{"message vs scalar", `{"m":{"a":1}}`, `{"m":"x"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := match("", obj(tt.want), obj(tt.got))
			if (len(problems) == 0) != tt.ok {
				t.Errorf("match(%s, %s): problems %q, want ok=%v", tt.want, tt.got, problems, tt.ok)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	v := &vars{prefix: "88.conf-x.c001", run: "88.conf-x", zone: "id.example.",
		nodes: map[string]Node{RoleServer: {GRPC: "127.0.0.1:1"}}, saved: map[string]string{"tok": "abc"}}
	tests := []struct{ in, want string }{
		{"{P}/x", "88.conf-x.c001/x"},
		{"{PU}/x", "88.CONF-X.C001/x"},
		{"{R}", "88.conf-x"},
		{"a._id.{PDNS}", "a._id.c001.conf-x.88.id.example."},
		{"{GRPC:server}", "127.0.0.1:1"},
		{"{$tok}", "abc"},
		{"{repeat:ab:3}", "ababab"},
		{"{literal} {not a placeholder}", "{literal} {not a placeholder}"},
	}
	for _, tt := range tests {
		got, err := v.expandString(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"{$missing}", "{GRPC:child}", "{HTTP:server}"} {
		if _, err := v.expandString(bad); err == nil {
			t.Errorf("expand(%q): no error", bad)
		}
	}
}

func TestRepeatInRequests(t *testing.T) {
	tree := map[string]any{"values": map[string]any{"$repeat": 3, "item": map[string]any{"index": "{i}", "type": "t{i}", "data": "d{i}"}}}
	js, err := requestJSON(tree)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"values":[{"data":"ZDE=","index":1,"type":"t1"},{"data":"ZDI=","index":2,"type":"t2"},{"data":"ZDM=","index":3,"type":"t3"}]}`
	if string(js) != want {
		t.Errorf("got %s\nwant %s", js, want)
	}
	for _, bad := range []any{-1, "x", maxRepeat + 1} {
		if _, err := requestJSON(map[string]any{"l": map[string]any{"$repeat": bad, "item": 1}}); err == nil {
			t.Errorf("$repeat %v: no error", bad)
		}
	}
}
