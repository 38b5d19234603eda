package runner

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// Node is one node the suite talks to. Empty endpoints are missing.
type Node struct {
	GRPC string // host:port
	DNS  string // host:port of its DNS bridge
	HTTP string // base URL of its HTTP gateway
	// Handle is host:port of its Handle-protocol server (TCP and UDP).
	Handle string
	Token  string // registry credential for setup and "as: tester"
}

// Target is what the suite runs against.
type Target struct {
	// Nodes by role (RoleServer, RoleChild, RoleRecursive, RoleRoot); the server is
	// required.
	Nodes map[string]Node
	// Prefix is the run prefix under which every case's {P} is created.
	// Empty: a random child of the deepest prefix the server's token
	// manages, created for the run and deleted after it.
	Prefix string
	// DNSZone is the server bridge's zone, e.g. "id.example." (for {ZONE}).
	DNSZone string
	// TLS, when set, secures every gRPC connection (the node's CA, and a
	// client certificate for mutual TLS); nil means plaintext.
	TLS *tls.Config
	// Timeout bounds each step; 0 means 10 s.
	Timeout time.Duration
	// Missing gives the skip reason when a role lacks an endpoint, keyed
	// "role:KIND" (KIND is GRPC, DNS, HTTP, HANDLE or ZONE); absent keys read
	// "no --flag given" with the idres conform flag names.
	Missing map[string]string
}

// Status of a case.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the verdict on one case.
type Result struct {
	Case     *Case
	Status   Status
	Reason   string // why it failed or was skipped
	Duration time.Duration
}

// Summary counts results.
type Summary struct{ Passed, Failed, Skipped int }

func (s Summary) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped)
}

// Add counts r.
func (s *Summary) Add(r Result) {
	switch r.Status {
	case Pass:
		s.Passed++
	case Fail:
		s.Failed++
	case Skip:
		s.Skipped++
	}
}

// Select keeps the cases whose "area/name" or requirement ids match re.
func Select(cases []*Case, re *regexp.Regexp) []*Case {
	if re == nil {
		return cases
	}
	var out []*Case
	for _, c := range cases {
		if re.MatchString(c.FullName()) || slices.ContainsFunc(c.Requirements, re.MatchString) {
			out = append(out, c)
		}
	}
	return out
}

var defaultFlags = map[string]string{
	RoleServer + ":GRPC":      "--server",
	RoleServer + ":DNS":       "--dns",
	RoleServer + ":HTTP":      "--http",
	RoleServer + ":ZONE":      "--dns-zone",
	RoleChild + ":GRPC":       "--child",
	RoleChild + ":DNS":        "--child-dns",
	RoleChild + ":HTTP":       "--child-http",
	RoleRecursive + ":GRPC":   "--recursive",
	RoleRecursive + ":DNS":    "--recursive-dns",
	RoleRecursive + ":HTTP":   "--recursive-http",
	RoleRoot + ":GRPC":        "--root",
	RoleRoot + ":DNS":         "--root-dns",
	RoleRoot + ":HTTP":        "--root-http",
	RoleServer + ":HANDLE":    "--handle",
	RoleChild + ":HANDLE":     "--child-handle",
	RoleRecursive + ":HANDLE": "--recursive-handle",
	RoleRoot + ":HANDLE":      "--root-handle",
}

// Run runs the cases in order against t, calling each with every result
// as it is known, and returns the counts. Its error is for the run as a
// whole (no server, the run prefix could not be created); a case's
// problems, including Unimplemented answers, are that case's failure.
func Run(ctx context.Context, t Target, cases []*Case, each func(Result)) (Summary, error) {
	var sum Summary
	if t.Timeout == 0 {
		t.Timeout = 10 * time.Second
	}
	if t.Nodes[RoleServer].GRPC == "" {
		return sum, errors.New("no server address")
	}
	r := &run{t: t, conns: map[string]*client.Client{}}
	defer r.close()
	for role, n := range t.Nodes {
		if n.GRPC == "" {
			continue
		}
		c, err := client.Dial(n.GRPC, client.Options{TLS: t.TLS})
		if err != nil {
			return sum, fmt.Errorf("%s node: %w", role, err)
		}
		r.conns[role] = c
	}
	created, err := r.prepareRunPrefix(ctx)
	if err != nil {
		return sum, err
	}
	for i, c := range cases {
		res := r.runCase(ctx, c, fmt.Sprintf("%s.c%03d", r.runPrefix, i+1))
		sum.Add(res)
		if each != nil {
			each(res)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if created {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.Timeout)
		defer cancel()
		_, err := r.conns[RoleServer].DeletePrefix(r.auth(cctx, RoleServer), &idresv1.DeletePrefixRequest{Prefix: r.runPrefix, Force: true})
		if err != nil {
			return sum, fmt.Errorf("delete run prefix %s: %w", r.runPrefix, err)
		}
	}
	return sum, nil
}

type run struct {
	t         Target
	conns     map[string]*client.Client
	runPrefix string
}

func (r *run) close() {
	for _, c := range r.conns {
		c.Close()
	}
}

func (r *run) auth(ctx context.Context, role string) context.Context {
	if tok := r.t.Nodes[role].Token; tok != "" {
		return withToken(ctx, tok)
	}
	return ctx
}

// prepareRunPrefix picks and creates the run prefix. It reports whether
// it created it (and so must delete it).
func (r *run) prepareRunPrefix(ctx context.Context) (bool, error) {
	srv := r.conns[RoleServer]
	cctx, cancel := context.WithTimeout(ctx, r.t.Timeout)
	defer cancel()
	cctx = r.auth(cctx, RoleServer)
	r.runPrefix = r.t.Prefix
	if r.runPrefix == "" {
		base, err := deepestHeld(cctx, srv)
		if err != nil {
			return false, fmt.Errorf("choose a run prefix (give --prefix to skip this): %w", err)
		}
		suffix := "conf-" + randomHex(4)
		if base == "" {
			r.runPrefix = suffix
		} else {
			r.runPrefix = base + "." + suffix
		}
	}
	_, err := srv.CreatePrefix(cctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: r.runPrefix}})
	if code, _ := codeOf(err); code == codes.AlreadyExists && r.t.Prefix != "" {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("create run prefix %q: %w", r.runPrefix, err)
	}
	return true, nil
}

// maxBaseDepth keeps room below the base prefix for the run prefix, the
// case prefix and up to three more segments that cases add, within the
// 16 segments of ID-002.
const maxBaseDepth = 11

// deepestHeld returns the deepest prefix (of at most maxBaseDepth
// segments) the caller manages on the node, the first in listing order
// among equals, or "" when it holds none.
func deepestHeld(ctx context.Context, c *client.Client) (string, error) {
	best, depth := "", -1
	tok := ""
	for {
		resp, err := c.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return "", err
		}
		for _, p := range resp.Prefixes {
			d := 0
			if p.Prefix != "" {
				d = strings.Count(p.Prefix, ".") + 1
			}
			if d > depth && d <= maxBaseDepth {
				best, depth = p.Prefix, d
			}
		}
		if tok = resp.NextPageToken; tok == "" {
			return best, nil
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// needKinds maps a case's needs to a role and endpoint kind.
var needKinds = map[string][2]string{
	"dns":       {RoleServer, "DNS"},
	"http":      {RoleServer, "HTTP"},
	"handle":    {RoleServer, "HANDLE"},
	"child":     {RoleChild, "GRPC"},
	"recursive": {RoleRecursive, "GRPC"},
	"root":      {RoleRoot, "GRPC"},
}

// skipReason says why c cannot run against this target, or "".
func (r *run) skipReason(c *Case) string {
	var reason string
	need := func(role, kind string) {
		if reason != "" {
			return
		}
		n, ok := r.t.Nodes[role]
		if !ok && kind != "GRPC" && r.t.Missing[role+":"+kind] == "" {
			// The role is absent altogether: name its main flag.
			kind = "GRPC"
		}
		have := ok && map[string]string{"GRPC": n.GRPC, "DNSADDR": n.DNS, "DNS": n.DNS, "HTTP": n.HTTP, "HANDLE": n.Handle, "ZONE": r.t.DNSZone}[kind] != ""
		if !have {
			if kind == "DNSADDR" {
				kind = "DNS"
			}
			key := role + ":" + kind
			if reason = r.t.Missing[key]; reason == "" {
				flag := defaultFlags[key]
				if flag == "" {
					flag = role + " " + strings.ToLower(kind)
				}
				reason = "no " + flag + " given"
			}
		}
	}
	for _, n := range c.Needs {
		k := needKinds[n]
		need(k[0], k[1])
	}
	for _, s := range append(append([]*Step{}, c.Setup...), c.Steps...) {
		switch s.Kind {
		case "grpc":
			need(s.Node, "GRPC")
		case "dns":
			need(s.Node, "DNS")
			need(RoleServer, "ZONE")
		case "http":
			need(s.Node, "HTTP")
		case "handle":
			need(s.Node, "HANDLE")
		}
		usedRoles(s.Request, need)
		usedRoles(s.Expect, need)
	}
	return reason
}

// cleanup is a call that undoes a setup call.
type cleanup struct {
	role   string
	method string
	req    proto.Message
}

// runCase runs one case; res is named so that the deferred cleanup can
// turn a pass into a failure and the duration covers the cleanup.
func (r *run) runCase(ctx context.Context, c *Case, prefix string) (res Result) {
	start := time.Now()
	res = Result{Case: c}
	defer func() { res.Duration = time.Since(start) }()
	if why := r.skipReason(c); why != "" {
		res.Status, res.Reason = Skip, why
		return res
	}
	v := &vars{prefix: prefix, run: r.runPrefix, zone: r.t.DNSZone, nodes: r.t.Nodes, saved: map[string]string{}}
	var undo []cleanup
	defer func() {
		if err := r.undo(ctx, undo); err != nil && res.Status == Pass {
			res.Status, res.Reason = Fail, "cleanup: "+err.Error()
		}
	}()

	// The case's own prefix, held on the server.
	create := &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: prefix, NegativeTtl: c.NegativeTTL}}
	cctx, cancel := context.WithTimeout(r.auth(ctx, RoleServer), r.t.Timeout)
	_, err := r.conns[RoleServer].CreatePrefix(cctx, create)
	cancel()
	if err != nil {
		res.Status, res.Reason = Fail, fmt.Sprintf("setup: create prefix %s: %v", prefix, err)
		return res
	}
	undo = append(undo, cleanup{RoleServer, "DeletePrefix", &idresv1.DeletePrefixRequest{Prefix: prefix, Force: true}})

	for _, s := range c.Setup {
		u, err := r.step(ctx, s, v, false)
		undo = append(undo, u...)
		if err != nil {
			res.Status, res.Reason = Fail, fmt.Sprintf("setup %s: %v", s, err)
			return res
		}
	}
	for i, s := range c.Steps {
		u, err := r.step(ctx, s, v, true)
		undo = append(undo, u...)
		if err != nil {
			res.Status, res.Reason = Fail, fmt.Sprintf("step %d, %s: %v", i+1, s, err)
			return res
		}
	}
	res.Status = Pass
	return res
}

// undo runs cleanups in reverse order; what is already gone is fine.
func (r *run) undo(ctx context.Context, undo []cleanup) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		u := undo[i]
		m, err := lookupMethod(u.method)
		if err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.t.Timeout)
		_, err = invoke(cctx, r.conns[u.role], m, u.req, r.t.Nodes[u.role].Token)
		cancel()
		if code, _ := codeOf(err); err != nil && code != codes.NotFound && code != codes.Unimplemented {
			errs = append(errs, fmt.Errorf("%s on %s: %w", u.method, u.role, err))
		}
	}
	return errors.Join(errs...)
}

func (r *run) token(s *Step, v *vars) (string, error) {
	as := s.As
	if as == "" {
		// Registry calls carry the tester's token unless told otherwise;
		// lookups are anonymous, as a scanning phone's would be.
		as = AsNone
		if s.Kind == "grpc" && !strings.HasPrefix(s.Method, "Resolve") {
			as = AsTester
		}
	}
	switch as {
	case AsTester:
		return r.t.Nodes[s.Node].Token, nil
	case AsNone:
		return "", nil
	case AsBad:
		return "not-a-token", nil
	case AsWrong:
		return "0123456789abcdef.c29tZS1zZWNyZXQtdGhhdC1pcy1ub3QtcmVnaXN0ZXJlZA", nil
	}
	return v.expandString(as)
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// step runs one step and checks its expectation (when check is set; setup
// steps must simply succeed). It returns the cleanups its success calls for.
func (r *run) step(ctx context.Context, s *Step, v *vars, check bool) ([]cleanup, error) {
	tok, err := r.token(s, v)
	if err != nil {
		return nil, err
	}
	req, err := v.expand(s.Request)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.t.Timeout)
	defer cancel()
	var got any
	var problems []string
	var undo []cleanup
	switch s.Kind {
	case "grpc":
		got, undo, problems, err = r.grpcStep(cctx, s, req, tok, v)
	case "dns":
		got, problems, err = r.dnsStep(cctx, s, req, v)
	case "http":
		got, problems, err = r.httpStep(cctx, s, req, tok, v)
	case "handle":
		got, problems, err = r.handleStep(cctx, s, req, v)
	}
	if err != nil {
		return undo, err
	}
	if len(problems) > 0 {
		return undo, errors.New(strings.Join(problems, "; "))
	}
	for name, path := range s.Save {
		x, ok := lookupPath(got, path)
		if !ok {
			return undo, fmt.Errorf("save %s: the response has no %s", name, path)
		}
		v.saved[name] = text(x)
	}
	return undo, nil
}

// grpcStep calls the method and compares code, error text and response.
func (r *run) grpcStep(ctx context.Context, s *Step, req any, tok string, v *vars) (any, []cleanup, []string, error) {
	m, err := lookupMethod(s.Method)
	if err != nil {
		return nil, nil, nil, err
	}
	var msg proto.Message
	var msgs []proto.Message
	switch {
	case m.IsStreamingClient():
		msgs, err = streamRequests(m, req)
	case m.IsStreamingServer():
		// One request; the server's stream must end by itself (e.g.
		// Watch with backlog_only) or with an error.
		msg, err = buildRequest(m, req)
		msgs = []proto.Message{msg}
	default:
		msg, err = buildRequest(m, req)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	want := s.Expect
	if want == nil {
		want = map[string]any{}
	}
	want2, err := v.expand(want)
	if err != nil {
		return nil, nil, nil, err
	}
	want = want2.(map[string]any)
	wantCode := codes.OK
	if cs, ok := want["code"].(string); ok {
		wantCode, _ = parseCode(cs)
	}
	var resp proto.Message
	var streamed []proto.Message
	var callErr error
	if msgs != nil {
		streamed, callErr = invokeStream(ctx, r.conns[s.Node], m, msgs, tok)
	} else {
		resp, callErr = invoke(ctx, r.conns[s.Node], m, msg, tok)
	}
	gotCode, gotMsg := codeOf(callErr)
	if gotCode != wantCode {
		if callErr != nil {
			return nil, nil, nil, fmt.Errorf("got gRPC %s (%s), want %s", gotCode, gotMsg, wantCode)
		}
		return nil, nil, nil, fmt.Errorf("call succeeded, want gRPC %s", wantCode)
	}
	var problems []string
	if e, ok := want["error"]; ok {
		problems = append(problems, match("error", e, gotMsg)...)
	}
	if callErr != nil {
		// A refusal can be saved from too: {code, error}.
		return map[string]any{"code": gotCode.String(), "error": gotMsg}, nil, problems, nil
	}
	var tree any
	if msgs != nil {
		list := make([]any, 0, len(streamed))
		for _, r := range streamed {
			t, err := responseTree(r)
			if err != nil {
				return nil, nil, nil, err
			}
			list = append(list, t)
		}
		tree = map[string]any{"responses": list, "merged": mergeLists(list)}
	} else if tree, err = responseTree(resp); err != nil {
		return nil, nil, nil, err
	}
	body := map[string]any{}
	for k, x := range want {
		if k != "code" && k != "error" {
			body[k] = x
		}
	}
	problems = append(problems, match("", body, tree)...)
	return tree, cleanupFor(s, msg, tree), problems, nil
}

// mergeLists concatenates, field by field, the list fields of a stream's
// responses, so that a case can check every answer of a stream in order
// whatever the server's packing into messages.
func mergeLists(responses []any) map[string]any {
	out := map[string]any{}
	for _, r := range responses {
		m, _ := r.(map[string]any)
		for k, v := range m {
			if l, ok := v.([]any); ok {
				prev, _ := out[k].([]any)
				if prev == nil {
					prev = []any{}
				}
				out[k] = append(prev, l...)
			}
		}
	}
	return out
}

// cleanupFor returns the call that undoes a successful call, if any.
func cleanupFor(s *Step, req proto.Message, resp any) []cleanup {
	one := func(method string, m proto.Message) []cleanup {
		return []cleanup{{role: s.Node, method: method, req: m}}
	}
	switch x := req.(type) {
	case *idresv1.CreatePrefixRequest:
		return one("DeletePrefix", &idresv1.DeletePrefixRequest{Prefix: x.GetPrefix().GetPrefix(), Force: true})
	case *idresv1.SetDelegationRequest:
		return one("RemoveDelegation", &idresv1.RemoveDelegationRequest{Prefix: x.GetDelegation().GetPrefix()})
	case *idresv1.SetTemplateRequest:
		return one("DeleteTemplate", &idresv1.DeleteTemplateRequest{Prefix: x.GetTemplate().GetPrefix()})
	case *idresv1.IssueCredentialRequest:
		if id, ok := lookupPath(resp, "credential.id"); ok {
			return one("RevokeCredential", &idresv1.RevokeCredentialRequest{Id: text(id)})
		}
	}
	return nil
}
