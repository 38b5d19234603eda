package httpgw_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestPageRedirect: a page with URL values redirects to the lowest-index
// one that is an http(s) URL, as ASCII.
func TestPageRedirect(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct{ path, location string }{
		{"/88.100/redirect", "https://a.example/two?x=1&y=%C3%BC"},
		{"/88.100/REDIRECT", "https://a.example/two?x=1&y=%C3%BC"},
		{"/88.100/unsafe-url", "https://safe.example/three"},
		{"/88.100.1/x", "http://child.example:8080/base/88.100.1/x"}, // referral to the child's page
	}
	for _, tt := range tests {
		resp, _ := f.get(t, tt.path)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: %d Location %q, want 302 %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.location)
		}
	}
}

// TestPageHTML: values are listed in an HTML page with security headers,
// every value escaped.
func TestPageHTML(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		path    string
		status  int
		want    []string
		notWant []string
	}{
		{"/88.100/xss", 200,
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "&#34;quoted&#34; &amp; &#39;single&#39;", "<title>88.100/xss · idres</title>", "<table>"},
			[]string{"<script", "<img"}},
		{"/88.100/%3Cb%3Ebold%3C%2Fb%3E", 200, []string{"<h1>88.100/&lt;b&gt;bold&lt;/b&gt;</h1>"}, []string{"<b>"}},
		// A javascript: URL is shown as text, never linked or followed.
		{"/88.100/only-unsafe-url", 200, []string{"javascript:alert(1)"}, []string{`href="javascript`}},
		// Any http(s) URL is a link (escaped for the href); other schemes are text.
		{"/88.100/linked", 200, []string{`<a href="https://docs.example/ds%201.pdf" rel="nofollow noopener noreferrer">https://docs.example/ds 1.pdf</a>`, "ftp://docs.example/m.pdf"}, []string{`href="ftp`}},
		{"/88.100/pump-0001", 200, []string{"ACME Pumps", "production_date", `href="/api/handles/88.100/Pump-0001"`, "2026-03-14T15:09:26Z"}, []string{"hidden"}},
		{"/88.100/binary", 200, []string{"/wAB/g==", "(base64)"}, nil},
		{"/88.100/private", 200, []string{"no public values"}, nil},
		{"/88.100/nope", 404, []string{"Identifier not found: 88.100/nope", "is not registered", "<form"}, nil},
		{"/99/x", 404, []string{"Identifier not found", "no zone of this node"}, nil},
		{"/88..100/x", 400, []string{"Invalid identifier", "prefix at byte 3"}, nil},
		{"/88.100.2/x", 400, []string{"no web address"}, nil},
		{"/", 200, []string{"Resolve an identifier", `<form method="get" action="/">`}, nil},
	}
	for _, tt := range tests {
		resp, body := f.get(t, tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		h := resp.Header
		if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none'; style-src 'sha256-") {
			t.Errorf("GET %s: headers %v", tt.path, h)
		}
		page := string(body)
		for _, w := range tt.want {
			if !strings.Contains(page, w) {
				t.Errorf("GET %s: page lacks %q:\n%s", tt.path, w, page)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(page, w) {
				t.Errorf("GET %s: page contains %q:\n%s", tt.path, w, page)
			}
		}
		for _, asset := range []string{"<img", "<link", "<script", "<iframe", "<object", "url(", "@import"} {
			if strings.Contains(page, asset) {
				t.Errorf("GET %s: page loads something (%q):\n%s", tt.path, asset, page)
			}
		}
	}
}

// TestPageAccept: Accept decides between HTML and the JSON of the API.
func TestPageAccept(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		accept string
		json   bool
	}{
		{"application/json", true},
		{"application/json, text/html;q=0.5", true},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"*/*", false},
		{"", false},
		{"text/html, application/json;q=0.9", false},
		{"application/json;q=0", false},
	}
	for _, tt := range tests {
		resp, body := f.do(t, "GET", "/88.100/xss", map[string]string{"Accept": tt.accept})
		isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
		if isJSON != tt.json || resp.Header.Get("Vary") != "Accept" {
			t.Errorf("Accept %q: Content-Type %q Vary %q, want json=%v", tt.accept, resp.Header.Get("Content-Type"), resp.Header.Get("Vary"), tt.json)
		}
		if isJSON && !strings.Contains(string(body), `"value": "<script>alert(1)</script>"`) && !strings.Contains(string(body), `"value":"<script>alert(1)</script>"`) {
			t.Errorf("Accept %q: JSON body %s", tt.accept, body)
		}
	}
	// A JSON client is not redirected: it gets the record.
	resp, _ := f.do(t, "GET", "/88.100/redirect", map[string]string{"Accept": "application/json"})
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
		t.Errorf("JSON client got %d Location %q, want 200 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestHeadMatchesGet: HEAD gives the status and headers of GET, no body.
func TestHeadMatchesGet(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{
		"/88.100/xss", "/88.100/redirect", "/88.100/nope", "/88..100/x", "/",
		"/api/handles/88.100/pump-0001", "/api/handles/88.100/nope?pretty", "/api/handles/88.100.1/x",
		"/healthz", "/readyz",
	} {
		g, gbody := f.get(t, p)
		h, hbody := f.do(t, http.MethodHead, p, nil)
		if g.StatusCode != h.StatusCode {
			t.Errorf("%s: GET %d, HEAD %d", p, g.StatusCode, h.StatusCode)
		}
		if len(hbody) != 0 {
			t.Errorf("%s: HEAD has a body of %d bytes", p, len(hbody))
		}
		if h.Header.Get("Content-Length") != strconv.Itoa(len(gbody)) {
			t.Errorf("%s: HEAD Content-Length %q, GET body %d bytes", p, h.Header.Get("Content-Length"), len(gbody))
		}
		for _, k := range []string{"Content-Type", "Cache-Control", "Location", "Content-Security-Policy", "Vary", "X-Content-Type-Options"} {
			if g.Header.Get(k) != h.Header.Get(k) {
				t.Errorf("%s: %s: GET %q, HEAD %q", p, k, g.Header.Get(k), h.Header.Get(k))
			}
		}
	}
}

// TestHomeForm: the form on "/" submits ?id= and is sent to the page.
func TestHomeForm(t *testing.T) {
	f := newFixture(t, nil)
	for _, tt := range []struct{ query, location string }{
		{"?id=88.100%2F%E6%B3%B5%2F%E7%94%B2", "/88.100/%E6%B3%B5/%E7%94%B2"},
		{"?id=+88.100/x+", "/88.100/x"},
		// Never a protocol-relative URL: that would send the browser away.
		{"?id=//evil.example/x", "/%2F/evil.example/x"},
		{"?id=/%5Cevil.example", "/%2F%5Cevil.example"},
	} {
		resp, _ := f.get(t, "/"+tt.query)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tt.location {
			t.Errorf("form %s: %d Location %q, want %q", tt.query, resp.StatusCode, resp.Header.Get("Location"), tt.location)
		}
	}
}
