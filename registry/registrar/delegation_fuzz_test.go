package registrar

import (
	"net"
	"net/url"
	"testing"
)

// FuzzEndpoint feeds arbitrary strings to the endpoint checks: they must
// never panic, and what they accept must be usable as what it claims to be.
func FuzzEndpoint(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1:7420", "[::1]:7420", "node.example:1", "h:65535", "h:0", "h:65536", ":80", "a b:80",
		"127.0.0.12", "::1", "ns1.example.", "http://127.0.0.1:8080", "https://id.example/api?x=1",
		"http://", "/api", "ftp://x/", "http://u:p@x/", "http://[::1]:80/", "", "%", "h:-1", "h:+80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkHostPort(s) == nil {
			host, port, err := net.SplitHostPort(s)
			if err != nil || host == "" || port == "" {
				t.Fatalf("grpc endpoint %q accepted but does not split: %q %q %v", s, host, port, err)
			}
		}
		if checkDNSAddr(s) == nil && s == "" {
			t.Fatal("empty DNS endpoint accepted")
		}
		if checkHTTPURL(s) == nil {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Fatalf("http endpoint %q accepted but is not an absolute http(s) URL", s)
			}
		}
	})
}
