package httpgw_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json golden files")

// TestAPIGolden pins the JSON, Handle response code and HTTP status of
// every answer the API gives, against a real Authority.
func TestAPIGolden(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		golden   string
		path     string
		status   int
		code     int
		cache    string
		location string
	}{
		{"ok", "/api/handles/88.100/pump-0001?pretty", 200, 1, "max-age=600", ""},
		{"ok_type_filter", "/api/handles/88.100/Pump-0001?type=batch&type=manufacturer&pretty", 200, 1, "max-age=86400", ""},
		{"ok_index_filter", "/api/handles/88.100/Pump-0001?index=3&pretty", 200, 1, "max-age=600", ""},
		{"ok_base64", "/api/handles/88.100/binary?pretty", 200, 1, "max-age=300", ""},
		{"ok_prefix_handle", "/api/handles/0.NA/88.100?pretty", 200, 1, "max-age=86400", ""},
		{"values_not_found", "/api/handles/88.100/Pump-0001?type=nothing&pretty", 200, 200, "max-age=120", ""},
		{"values_not_found_private", "/api/handles/88.100/private?pretty", 200, 200, "max-age=120", ""},
		{"not_found", "/api/handles/88.100/nope?pretty", 404, 100, "max-age=120", ""},
		{"prefix_not_found", "/api/handles/99/x?pretty", 404, 100, "max-age=3600", ""},
		{"prefix_not_found_in_zone", "/api/handles/88.100.9/x?pretty", 404, 100, "max-age=120", ""},
		{"referral", "/api/handles/88.100.1/x%2Fy?pretty", 302, 301, "max-age=7200", "http://child.example:8080/base/api/handles/88.100.1/x/y?pretty"},
		{"referral_no_http", "/api/handles/88.100.2/x?pretty", 400, 301, "max-age=86400", ""},
		{"invalid_prefix", "/api/handles/88..100/x?pretty", 400, 102, "no-store", ""},
		{"invalid_no_suffix", "/api/handles/88.100?pretty", 400, 102, "no-store", ""},
		{"invalid_control", "/api/handles/88.100/a%00b?pretty", 400, 102, "no-store", ""},
		{"invalid_utf8", "/api/handles/88.100/%FF?pretty", 400, 102, "no-store", ""},
		{"bad_index", "/api/handles/88.100/pump-0001?index=0&pretty", 400, 2, "no-store", ""},
		{"compact", "/api/handles/88.100/binary", 200, 1, "max-age=300", ""},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			resp, body := f.get(t, tt.path)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin %q, want *", got)
			}
			var rec struct {
				ResponseCode int `json:"responseCode"`
			}
			if err := json.Unmarshal(body, &rec); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			if rec.ResponseCode != tt.code {
				t.Errorf("responseCode %d, want %d", rec.ResponseCode, tt.code)
			}
			golden(t, tt.golden, body)
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("body differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestAPIMethods: only GET and HEAD read; unknown API paths are 404.
func TestAPIMethods(t *testing.T) {
	f := newFixture(t, nil)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, _ := f.do(t, m, "/api/handles/88.100/pump-0001", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d Allow %q, want 405 and GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	for _, p := range []string{"/api", "/api/", "/api/handles", "/api/other/88.100/x"} {
		resp, body := f.get(t, p)
		if p == "/api/handles/" {
			continue
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404; %s", p, resp.StatusCode, body)
		}
	}
	resp, body := f.get(t, "/api/handles/")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /api/handles/: status %d, want 400; %s", resp.StatusCode, body)
	}
}
