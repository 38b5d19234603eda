package httpgw_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/idres/idres/resolver/httpgw"
)

func TestDecodeIdentifier(t *testing.T) {
	tests := []struct {
		in, want string
		errPos   int // -1: no error
	}{
		{"88.100/x", "88.100/x", -1},
		{"88.100/a/b", "88.100/a/b", -1},
		{"88.100%2Fa%2fb", "88.100/a/b", -1},
		{"88.100/with%20space", "88.100/with space", -1},
		{"88.100/a+b", "88.100/a+b", -1}, // "+" is not a space in a path
		{"88.100/what%3Fyes%23frag", "88.100/what?yes#frag", -1},
		{"88.100/%F0%9F%98%80", "88.100/😀", -1},
		{"88.100/%E6%B3%B5", "88.100/泵", -1},
		{"88.100/50%252Foff", "88.100/50%2Foff", -1}, // decoded once only
		{"88.100/%FF", "88.100/\xff", -1},            // bytes, UTF-8 is checked by ident
		{"", "", 0},
		{"88.100/50%zz", "", 9},
		{"88.100/%", "", 7},
		{"88.100/%4", "", 7},
	}
	for _, tt := range tests {
		got, err := httpgw.DecodeIdentifier(tt.in)
		if tt.errPos >= 0 {
			var pe *httpgw.PathError
			if !errors.As(err, &pe) || pe.Pos != tt.errPos {
				t.Errorf("DecodeIdentifier(%q) = %q, %v; want a PathError at %d", tt.in, got, err, tt.errPos)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DecodeIdentifier(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestEscapeIdentifier(t *testing.T) {
	tests := []struct{ id, api, page string }{
		{"88.100/pump-0001", "/api/handles/88.100/pump-0001", "/88.100/pump-0001"},
		{"88.100/a/b", "/api/handles/88.100/a/b", "/88.100/a/b"},
		{"88.100/with space?#", "/api/handles/88.100/with%20space%3F%23", "/88.100/with%20space%3F%23"},
		{"88.100/50%2Foff", "/api/handles/88.100/50%252Foff", "/88.100/50%252Foff"},
		{"88.100/泵", "/api/handles/88.100/%E6%B3%B5", "/88.100/%E6%B3%B5"},
		// Dot and empty segments would be removed by URL normalisation.
		{"88.100/./x", "/api/handles/88.100%2F./x", "/88.100%2F./x"},
		{"88.100/..", "/api/handles/88.100%2F..", "/88.100%2F.."},
		{"88.100/a//b", "/api/handles/88.100/a%2F/b", "/88.100/a%2F/b"},
		{"88.100/trailing/", "/api/handles/88.100/trailing%2F", "/88.100/trailing%2F"},
		// A landing page must not fall into the API's route space.
		{"api/handles/x", "/api/handles/api/handles/x", "/api%2Fhandles/x"},
		{"API/x", "/api/handles/API/x", "/API%2Fx"},
	}
	for _, tt := range tests {
		if got := httpgw.APIPath(tt.id); got != tt.api {
			t.Errorf("APIPath(%q) = %q, want %q", tt.id, got, tt.api)
		}
		if got := httpgw.PagePath(tt.id); got != tt.page {
			t.Errorf("PagePath(%q) = %q, want %q", tt.id, got, tt.page)
		}
	}
	if got := httpgw.PageURL("https://id.example.org/", "88.100/x"); got != "https://id.example.org/88.100/x" {
		t.Errorf("PageURL = %q", got)
	}
}

// TestURLRoundTrip: identifiers whose suffix holds "/", "%2F", spaces,
// "?", "#", emoji or Chinese reach the server through their escaped URL
// (and, for the API, with every "/" written as %2F) and come back with
// the registrant's spelling.
func TestURLRoundTrip(t *testing.T) {
	f := newFixture(t, nil)
	for _, id := range roundTrip {
		paths := []string{
			httpgw.APIPath(id),
			"/api/handles/" + strings.ReplaceAll(httpgw.EscapeIdentifier(id), "/", "%2F"),
			httpgw.PagePath(id),
		}
		for i, p := range paths {
			var hdr map[string]string
			if i == 2 {
				hdr = map[string]string{"Accept": "application/json"}
			}
			resp, body := f.do(t, "GET", p, hdr)
			var rec struct {
				ResponseCode int    `json:"responseCode"`
				Handle       string `json:"handle"`
				Values       []struct {
					Data struct{ Value string } `json:"data"`
				} `json:"values"`
			}
			if err := json.Unmarshal(body, &rec); err != nil {
				t.Fatalf("%q via %s: %v\n%s", id, p, err, body)
			}
			_, suffix, _ := strings.Cut(id, "/")
			if resp.StatusCode != 200 || rec.ResponseCode != 1 || rec.Handle != id ||
				len(rec.Values) != 1 || rec.Values[0].Data.Value != suffix {
				t.Errorf("%q via %s: status %d, %s", id, p, resp.StatusCode, body)
			}
		}
	}
}
