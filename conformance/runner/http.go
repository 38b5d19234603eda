package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"
)

// httpClient never follows redirects: cases check the redirect itself.
var httpClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// maxHTTPBody bounds what a case reads of a response body.
const maxHTTPBody = 4 << 20

func (r *run) httpStep(ctx context.Context, s *Step, req any, tok string, v *vars) (any, []string, error) {
	m, _ := req.(map[string]any)
	method, _ := m["method"].(string)
	if method == "" {
		method = http.MethodGet
	}
	path, _ := m["path"].(string)
	base := strings.TrimRight(r.t.Nodes[s.Node].HTTP, "/")
	var body io.Reader
	if b, ok := m["body"].(string); ok {
		body = strings.NewReader(b)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, nil, fmt.Errorf("http request: %w", err)
	}
	if hs, ok := m["headers"].(map[string]any); ok {
		for k, x := range hs {
			hreq.Header.Set(k, text(x))
		}
	}
	if tok != "" {
		hreq.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := httpClient.Do(hreq)
	if err != nil {
		return nil, nil, fmt.Errorf("http %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	if err != nil {
		return nil, nil, fmt.Errorf("http %s %s: read body: %w", method, path, err)
	}
	got := map[string]any{"status": resp.StatusCode, "body": string(raw)}
	headers := map[string]any{}
	for k, vs := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	got["headers"] = headers
	var problems []string
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var js any
		if err := dec.Decode(&js); err != nil {
			problems = append(problems, fmt.Sprintf("body: Content-Type says JSON but it does not parse: %v", err))
		} else {
			got["json"] = js
		}
	}
	want, err := v.expand(s.Expect)
	if err != nil {
		return nil, nil, err
	}
	wm, _ := want.(map[string]any)
	if wh, ok := wm["headers"].(map[string]any); ok {
		lower := map[string]any{}
		for k, x := range wh {
			lower[strings.ToLower(k)] = x
		}
		wm["headers"] = lower
	}
	return got, append(problems, match("", wm, got)...), nil
}

// checkHTTP validates an HTTP step at load time.
func (l *loader) checkHTTP(s *Step, req, expect *yaml.Node) {
	l.allowKeys(req, "http", "method", "path", "headers", "body")
	m, _ := s.Request.(map[string]any)
	if p, _ := m["path"].(string); !strings.HasPrefix(p, "/") {
		l.fail(req, "http: path must start with /")
	}
	if expect != nil {
		l.allowKeys(expect, "http expect", "status", "headers", "body", "json")
	}
}
