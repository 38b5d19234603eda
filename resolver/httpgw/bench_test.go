package httpgw_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkGateway: one request over loopback with keep-alive, against a
// real Authority on a real store: the JSON API, the HTML page, a miss.
func BenchmarkGateway(b *testing.B) {
	f := newFixture(b, nil)
	for _, bc := range []struct{ name, path string }{
		{"api_ok", "/api/handles/88.100/pump-0001"},
		{"api_not_found", "/api/handles/88.100/nope"},
		{"page_html", "/88.100/xss"},
		{"page_redirect", "/88.100/redirect"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := f.srv.URL + bc.path
			b.ReportAllocs()
			for b.Loop() {
				resp, err := f.client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= http.StatusInternalServerError {
					b.Fatalf("%s: %d", bc.path, resp.StatusCode)
				}
			}
		})
	}
}
