package registrar_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/grpcserver"
)

// TestSecretsNeverStoredOrLogged issues credentials through the API, then
// greps the bbolt file and the logs for each secret.
func TestSecretsNeverStoredOrLogged(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	var secrets []string
	for _, role := range []string{"admin", "write", "read"} {
		resp, err := e.reg.IssueCredential(e.ctx(e.root), &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: role, Note: "registrar"})
		e.must(err)
		tok, err := credential.ParseToken(resp.Token)
		e.must(err)
		if tok.ID != resp.Credential.Id {
			t.Errorf("token id %s, credential id %s", tok.ID, resp.Credential.Id)
		}
		secrets = append(secrets, tok.Secret)
		// The new token works at once.
		_, err = e.reg.GetPrefix(e.ctx(resp.Token), &idresv1.GetPrefixRequest{Prefix: "88.100"})
		e.must(err)
	}
	list, err := e.reg.ListCredentials(e.ctx(e.root), &idresv1.ListCredentialsRequest{})
	e.must(err)
	e.store.Close() // flush everything to the file
	raw, err := os.ReadFile(filepath.Join(e.dir, store.FileName))
	e.must(err)
	for _, s := range secrets {
		for what, hay := range map[string][]byte{"bbolt file": raw, "logs": []byte(e.logs.String()), "ListCredentials": []byte(list.String())} {
			if bytes.Contains(hay, []byte(s)) {
				t.Errorf("secret %s... found in the %s", s[:6], what)
			}
		}
		// The hash is stored (so the test looks in the right place).
		if !bytes.Contains(raw, []byte(fmt.Sprintf("%x", credential.Hash(s)))) && !bytes.Contains(raw, credential.Hash(s)) && !strings.Contains(string(raw), b64(credential.Hash(s))) {
			t.Errorf("hash of secret %s... not in the bbolt file", s[:6])
		}
	}
	if !strings.Contains(e.logs.String(), "IssueCredential") {
		t.Errorf("logs do not record the issuing: %s", e.logs.String())
	}
}

func TestIssueCredentialRules(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	e.prefix("88.100.1")
	expiring := e.issue("88.100", credential.RoleAdmin, e.clk.Now().Add(24*time.Hour))
	writer := e.issue("88.100", credential.RoleWrite, time.Time{})
	tests := []struct {
		name   string
		token  string
		req    *idresv1.IssueCredentialRequest
		want   codes.Code
		expiry time.Time // wanted expiry of the new credential, when OK
	}{
		{"within own subtree", expiring, &idresv1.IssueCredentialRequest{Prefix: "88.100.1", Role: "write"}, codes.OK, e.clk.Now().Add(24 * time.Hour)},
		{"own subtree", expiring, &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "admin"}, codes.OK, e.clk.Now().Add(24 * time.Hour)},
		{"expiry capped by issuer's", expiring, &idresv1.IssueCredentialRequest{Prefix: "88.100.1", Role: "read", Expires: timestamppb.New(e.clk.Now().Add(48 * time.Hour))}, codes.OK, e.clk.Now().Add(24 * time.Hour)},
		{"shorter expiry kept", expiring, &idresv1.IssueCredentialRequest{Prefix: "88.100.1", Role: "read", Expires: timestamppb.New(e.clk.Now().Add(time.Hour))}, codes.OK, e.clk.Now().Add(time.Hour)},
		{"broader", expiring, &idresv1.IssueCredentialRequest{Prefix: "88", Role: "read"}, codes.PermissionDenied, time.Time{}},
		{"root", expiring, &idresv1.IssueCredentialRequest{Prefix: "", Role: "read"}, codes.PermissionDenied, time.Time{}},
		{"sibling", expiring, &idresv1.IssueCredentialRequest{Prefix: "88.101", Role: "read"}, codes.PermissionDenied, time.Time{}},
		{"write may not issue", writer, &idresv1.IssueCredentialRequest{Prefix: "88.100.1", Role: "read"}, codes.PermissionDenied, time.Time{}},
		{"unknown role", expiring, &idresv1.IssueCredentialRequest{Prefix: "88.100.1", Role: "owner"}, codes.InvalidArgument, time.Time{}},
		{"bad prefix", expiring, &idresv1.IssueCredentialRequest{Prefix: "88..100", Role: "read"}, codes.InvalidArgument, time.Time{}},
		{"past expiry", e.root, &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "read", Expires: timestamppb.New(e.clk.Now().Add(-time.Second))}, codes.InvalidArgument, time.Time{}},
		{"note with control character", e.root, &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "read", Note: "a\nb"}, codes.InvalidArgument, time.Time{}},
	}
	for _, tc := range tests {
		resp, err := e.reg.IssueCredential(e.ctx(tc.token), tc.req)
		if status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if err == nil && !resp.Credential.Expires.AsTime().Equal(tc.expiry) {
			t.Errorf("%s: expires %v, want %v", tc.name, resp.Credential.Expires.AsTime(), tc.expiry)
		}
	}
}

func TestRevocationAndExpiryTakeEffectOnNextCall(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	resp, err := e.reg.IssueCredential(e.ctx(e.root), &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "admin", Expires: timestamppb.New(e.clk.Now().Add(time.Hour))})
	e.must(err)
	get := func(tok string) error {
		_, err := e.reg.GetPrefix(e.ctx(tok), &idresv1.GetPrefixRequest{Prefix: "88.100"})
		return err
	}
	e.must(get(resp.Token))
	e.clk.Advance(time.Hour)
	if err := get(resp.Token); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after expiry: %v, want Unauthenticated", err)
	}

	resp, err = e.reg.IssueCredential(e.ctx(e.root), &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "admin"})
	e.must(err)
	e.must(get(resp.Token))
	r, err := e.reg.RevokeCredential(e.ctx(e.root), &idresv1.RevokeCredentialRequest{Id: resp.Credential.Id})
	e.must(err)
	if r.Revoked == nil {
		t.Errorf("revoked credential shows no revocation time")
	}
	if err := get(resp.Token); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after revocation: %v, want Unauthenticated", err)
	}
	// Revoking again changes nothing and is not an error.
	_, err = e.reg.RevokeCredential(e.ctx(e.root), &idresv1.RevokeCredentialRequest{Id: resp.Credential.Id})
	e.must(err)
	// Listing hides revoked credentials unless asked.
	for _, incl := range []bool{false, true} {
		l, err := e.reg.ListCredentials(e.ctx(e.root), &idresv1.ListCredentialsRequest{Prefix: "88.100", IncludeRevoked: incl})
		e.must(err)
		if n := len(l.Credentials); incl && n != 2 || !incl && n != 1 {
			t.Errorf("ListCredentials include_revoked=%v: %d credentials", incl, n)
		}
	}
	// The last node administrator cannot revoke itself away.
	rootTok, _ := credential.ParseToken(e.root)
	_, err = e.reg.RevokeCredential(e.ctx(e.root), &idresv1.RevokeCredentialRequest{Id: rootTok.ID})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("revoking the last node administrator: %v, want FailedPrecondition", err)
	}
}

func TestListCredentialsPaging(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	for range 5 {
		e.issue("88.100", credential.RoleRead, time.Time{})
	}
	e.issue("88.200", credential.RoleRead, time.Time{})
	admin := e.issue("88.100", credential.RoleAdmin, time.Time{})
	seen := map[string]bool{}
	tokn := ""
	for pages := 0; ; pages++ {
		l, err := e.reg.ListCredentials(e.ctx(admin), &idresv1.ListCredentialsRequest{PageSize: 2, PageToken: tokn})
		e.must(err)
		for _, c := range l.Credentials {
			if c.Prefix != "88.100" || seen[c.Id] {
				t.Errorf("unexpected or repeated credential %v", c)
			}
			seen[c.Id] = true
		}
		if tokn = l.NextPageToken; tokn == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 6 {
		t.Errorf("listed %d credentials of 88.100, want 6", len(seen))
	}
}

// TestTemplates: the nearest ancestor's template applies to creates and
// updates; violations are InvalidArgument naming field, rule and value.
func TestTemplates(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	for _, p := range []string{"88.100", "88.100.1", "88.100.1.5", "88.200"} {
		e.prefix(p)
	}
	set := func(p string, fields ...*idresv1.TemplateField) {
		_, err := e.reg.SetTemplate(e.ctx(e.root), &idresv1.SetTemplateRequest{Template: &idresv1.Template{Prefix: p, Fields: fields}})
		e.must(err)
	}
	set("88.100", &idresv1.TemplateField{Type: "gtin", Kind: "gs1-gtin", Required: true})
	set("88.100.1.5", &idresv1.TemplateField{Type: "colour", Kind: "enum", Choices: []string{"red", "green"}})
	create := func(id string, vals ...*idresv1.Value) error {
		_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals})
		return err
	}
	tests := []struct {
		name string
		err  error
		want []string // substrings of an InvalidArgument message; nil = OK
	}{
		{"ancestor template applies", create("88.100.1/a", rval(1, "gtin", "4006381333931")), nil},
		{"ancestor: wrong check digit", create("88.100.1/b", rval(1, "gtin", "4006381333932")), []string{`field "gtin"`, "rule gs1-gtin", `"4006381333932"`, `template of "88.100"`}},
		{"ancestor: required missing", create("88.100.1/c", rval(1, "URL", "https://x")), []string{`field "gtin"`, "rule required"}},
		{"nearest wins: parent's required not applied", create("88.100.1.5/d", rval(1, "colour", "red")), nil},
		{"nearest: enum", create("88.100.1.5/e", rval(1, "colour", "blue")), []string{`field "colour"`, "rule enum", `"blue"`}},
		{"no template elsewhere", create("88.200/f", rval(1, "gtin", "nope")), nil},
	}
	for _, tc := range tests {
		if tc.want == nil {
			if tc.err != nil {
				t.Errorf("%s: %v", tc.name, tc.err)
			}
			continue
		}
		msg := status.Convert(tc.err).Message()
		if status.Code(tc.err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", tc.name, tc.err)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", tc.name, msg, w)
			}
		}
	}
	// UpdateValues is checked on the resulting set.
	_, err := e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100.1/a", Remove: []uint32{1}, Add: []*idresv1.Value{rval(2, "URL", "https://x")}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "rule required") {
		t.Errorf("update dropping a required field: %v", err)
	}
	_, err = e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100.1/a", Add: []*idresv1.Value{rval(2, "URL", "https://x")}})
	e.must(err)
	// Get, effective, and delete.
	got, err := e.reg.GetTemplate(e.ctx(e.root), &idresv1.GetTemplateRequest{Prefix: "88.100.1", Effective: true})
	e.must(err)
	if got.Prefix != "88.100" {
		t.Errorf("effective template of 88.100.1 is %q's, want 88.100's", got.Prefix)
	}
	if _, err := e.reg.GetTemplate(e.ctx(e.root), &idresv1.GetTemplateRequest{Prefix: "88.100.1"}); status.Code(err) != codes.NotFound {
		t.Errorf("own template of 88.100.1: %v, want NotFound", err)
	}
	_, err = e.reg.DeleteTemplate(e.ctx(e.root), &idresv1.DeleteTemplateRequest{Prefix: "88.100"})
	e.must(err)
	e.must(create("88.100.1/g", rval(1, "URL", "https://x")))
	// Bad templates and unheld prefixes are refused.
	_, err = e.reg.SetTemplate(e.ctx(e.root), &idresv1.SetTemplateRequest{Template: &idresv1.Template{Prefix: "88.100", Fields: []*idresv1.TemplateField{{Type: "x", Kind: "float"}}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown kind: %v", err)
	}
	_, err = e.reg.SetTemplate(e.ctx(e.root), &idresv1.SetTemplateRequest{Template: &idresv1.Template{Prefix: "99"}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("template on a prefix not held: %v", err)
	}
}

// TestAuditOneRecordPerChange: every successful change appends exactly
// one record naming call, target and credential; a failed change none.
func TestAuditOneRecordPerChange(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	ctx := e.ctx(e.root)
	rootTok, _ := credential.ParseToken(e.root)
	r := e.reg
	steps := []struct {
		call, target string
		do           func() error
		before       bool // record has a before digest
		after        bool
	}{
		{"CreatePrefix", "88.100", func() error {
			_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}})
			return err
		}, false, true},
		{"", "", func() error {
			_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}})
			return err
		}, false, false},
		{"CreateIdentifier", "88.100/A", func() error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/A", Values: []*idresv1.Value{rval(1, "URL", "x")}})
			return err
		}, false, true},
		{"", "", func() error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/A", Values: []*idresv1.Value{rval(1, "URL", "x")}})
			return err
		}, false, false},
		{"UpdateValues", "88.100/A", func() error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/A", Add: []*idresv1.Value{rval(2, "batch", "b")}})
			return err
		}, true, true},
		{"", "", func() error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/A", Add: []*idresv1.Value{rval(2, "batch", "b")}})
			return err
		}, false, false},
		{"SetTemplate", "88.100", func() error {
			_, err := r.SetTemplate(ctx, &idresv1.SetTemplateRequest{Template: &idresv1.Template{Prefix: "88.100", Fields: []*idresv1.TemplateField{{Type: "batch", Kind: "int"}}}})
			return err
		}, false, true},
		{"", "", func() error { // template violation: rolled back
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/B", Values: []*idresv1.Value{rval(1, "batch", "x")}})
			return err
		}, false, false},
		{"DeleteTemplate", "88.100", func() error {
			_, err := r.DeleteTemplate(ctx, &idresv1.DeleteTemplateRequest{Prefix: "88.100"})
			return err
		}, true, false},
		{"SetDelegation", "88.100.9", func() error {
			_, err := r.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{Prefix: "88.100.9", Grpc: []string{"127.0.0.1:1"}}})
			return err
		}, false, true},
		{"RemoveDelegation", "88.100.9", func() error {
			_, err := r.RemoveDelegation(ctx, &idresv1.RemoveDelegationRequest{Prefix: "88.100.9"})
			return err
		}, true, false},
		{"IssueCredential", "", func() error {
			_, err := r.IssueCredential(ctx, &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "read"})
			return err
		}, false, true},
		{"DeleteIdentifier", "88.100/A", func() error {
			_, err := r.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/A"})
			return err
		}, true, false},
		{"", "", func() error {
			_, err := r.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/A"})
			return err
		}, false, false},
		{"DeletePrefix", "88.100", func() error {
			_, err := r.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: "88.100"})
			return err
		}, true, false},
	}
	var seen uint64
	for i, s := range steps {
		err := s.do()
		if (err == nil) != (s.call != "") {
			t.Fatalf("step %d (%s): err = %v", i, s.call, err)
		}
		l, err := r.ListAudit(ctx, &idresv1.ListAuditRequest{PageToken: ""})
		e.must(err)
		var fresh []*idresv1.AuditRecord
		for _, rec := range l.Records {
			if rec.Seq > seen {
				fresh = append(fresh, rec)
			}
		}
		if s.call == "" {
			if len(fresh) != 0 {
				t.Errorf("step %d: failed change left %d audit records: %v", i, len(fresh), fresh)
			}
			continue
		}
		if len(fresh) != 1 {
			t.Fatalf("step %d (%s): %d new audit records, want 1", i, s.call, len(fresh))
		}
		rec := fresh[0]
		seen = rec.Seq
		if rec.Call != s.call || s.target != "" && rec.Target != s.target || rec.CredentialId != rootTok.ID || rec.Time == nil {
			t.Errorf("step %d: record %v, want call %s target %s by %s", i, rec, s.call, s.target, rootTok.ID)
		}
		if (len(rec.BeforeSha256) == 32) != s.before || (len(rec.AfterSha256) == 32) != s.after {
			t.Errorf("step %d (%s): before %x after %x, want before=%v after=%v", i, s.call, rec.BeforeSha256, rec.AfterSha256, s.before, s.after)
		}
	}
}

func TestListAuditFilters(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	e.prefix("88.100.1")
	e.clk.Advance(time.Hour)
	mid := e.clk.Now()
	e.prefix("88.100.2")
	e.ident("88.100.1/X")
	e.ident("88.100.2/Y")
	sub := e.issue("88.100.1", credential.RoleAdmin, time.Time{})
	list := func(tok string, req *idresv1.ListAuditRequest) []string {
		l, err := e.reg.ListAudit(e.ctx(tok), req)
		if err != nil {
			return []string{status.Code(err).String()}
		}
		var out []string
		for _, r := range l.Records {
			out = append(out, r.Target)
		}
		if l.NextPageToken != "" {
			out = append(out, "more")
		}
		return out
	}
	tests := []struct {
		name string
		tok  string
		req  *idresv1.ListAuditRequest
		want string
	}{
		{"all", e.root, &idresv1.ListAuditRequest{}, "88.100 88.100.1 88.100.2 88.100.1/X 88.100.2/Y"},
		{"prefix", e.root, &idresv1.ListAuditRequest{Prefix: "88.100.1"}, "88.100.1 88.100.1/X"},
		{"since", e.root, &idresv1.ListAuditRequest{Since: timestamppb.New(mid)}, "88.100.2 88.100.1/X 88.100.2/Y"},
		{"limit", e.root, &idresv1.ListAuditRequest{Limit: 2}, "88.100 88.100.1 more"},
		{"subtree admin sees own subtree", sub, &idresv1.ListAuditRequest{}, "88.100.1 88.100.1/X"},
		{"subtree admin refused parent", sub, &idresv1.ListAuditRequest{Prefix: "88.100"}, "PermissionDenied"},
		{"over the page limit", e.root, &idresv1.ListAuditRequest{Limit: 5000}, "InvalidArgument"},
		{"bad token", e.root, &idresv1.ListAuditRequest{PageToken: "zzz"}, "InvalidArgument"},
	}
	for _, tc := range tests {
		if got := strings.Join(list(tc.tok, tc.req), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Paging continues where it stopped.
	l, err := e.reg.ListAudit(e.ctx(e.root), &idresv1.ListAuditRequest{Limit: 2})
	e.must(err)
	l2, err := e.reg.ListAudit(e.ctx(e.root), &idresv1.ListAuditRequest{Limit: 2, PageToken: l.NextPageToken})
	e.must(err)
	if len(l2.Records) != 2 || l2.Records[0].Seq != l.Records[1].Seq+1 {
		t.Errorf("second page %v after %v", l2.Records, l.Records)
	}
}

func TestLimits(t *testing.T) {
	e := newRenv(t, registrar.Limits{MaxValues: 3, MaxValueBytes: 10, MaxPageSize: 5}, nil)
	e.prefix("88.100")
	vals := func(n, size int) []*idresv1.Value {
		var out []*idresv1.Value
		for i := range n {
			out = append(out, rval(uint32(i+1), "t", strings.Repeat("x", size)))
		}
		return out
	}
	tests := []struct {
		name string
		err  error
		want codes.Code
		msg  string
	}{
		{"at the values limit", func() error {
			_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: "88.100/a", Values: vals(3, 10)})
			return err
		}(), codes.OK, ""},
		{"over the values limit", func() error {
			_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: "88.100/b", Values: vals(4, 1)})
			return err
		}(), codes.InvalidArgument, "limit of 3"},
		{"over the value size", func() error {
			_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: "88.100/c", Values: vals(1, 11)})
			return err
		}(), codes.InvalidArgument, "limit of 10 bytes"},
		{"update over the values limit", func() error {
			_, err := e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100/a", Add: []*idresv1.Value{rval(9, "t", "x")}})
			return err
		}(), codes.InvalidArgument, "limit of 3"},
		{"page size over the limit", func() error {
			_, err := e.reg.ListIdentifiers(e.ctx(e.root), &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageSize: 6})
			return err
		}(), codes.InvalidArgument, "limit of 5"},
	}
	for _, tc := range tests {
		if status.Code(tc.err) != tc.want || !strings.Contains(status.Convert(tc.err).Message(), tc.msg) {
			t.Errorf("%s: %v, want %v with %q", tc.name, tc.err, tc.want, tc.msg)
		}
	}
	if err := registrar.New(e.store, nil).SetLimits(registrar.Limits{MaxValues: 1001}); err == nil {
		t.Errorf("a values limit above the design's 1000 was accepted")
	}
}

// TestRateLimit: a burst beyond the bucket gets ResourceExhausted; once the
// (fake) clock has moved on, calls succeed again. Other credentials are
// not affected.
func TestRateLimit(t *testing.T) {
	clk := &rclock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lim := &grpcserver.RateLimiter{Rate: 2, Burst: 3, Now: clk.Now}
	e := newRenv(t, registrar.Limits{}, lim)
	other := e.issue("", credential.RoleAdmin, time.Time{})
	call := func(tok string) error {
		_, err := e.reg.ListPrefixes(e.ctx(tok), &idresv1.ListPrefixesRequest{})
		return err
	}
	for i := range 3 {
		if err := call(e.root); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	err := call(e.root)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "2 calls per second (burst 3)") {
		t.Fatalf("call beyond the burst: %v, want ResourceExhausted naming the limit", err)
	}
	if err := call(other); err != nil {
		t.Errorf("another credential was limited too: %v", err)
	}
	clk.Advance(500 * time.Millisecond) // one token at 2/s
	if err := call(e.root); err != nil {
		t.Errorf("next window: %v", err)
	}
	if err := call(e.root); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("second call in the window: %v, want ResourceExhausted", err)
	}
}

// TestImportChecksTemplates: each Import item is checked against the
// template that applies; a violating item is refused in-band, the others
// are stored, and only stored items are audited.
func TestImportChecksTemplates(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	_, err := e.reg.SetTemplate(e.ctx(e.root), &idresv1.SetTemplateRequest{Template: &idresv1.Template{Prefix: "88.100",
		Fields: []*idresv1.TemplateField{{Type: "gtin", Kind: "gs1-gtin", Required: true}}}})
	e.must(err)
	st, err := e.reg.Import(e.ctx(e.root))
	e.must(err)
	e.must(st.Send(&idresv1.ImportRequest{Items: []*idresv1.ImportItem{
		{Identifier: "88.100/good", Values: []*idresv1.Value{rval(1, "gtin", "4006381333931")}},
		{Identifier: "88.100/bad", Values: []*idresv1.Value{rval(1, "gtin", "4006381333932")}},
	}}))
	e.must(st.CloseSend())
	var errs []*idresv1.ImportError
	created := uint32(0)
	for {
		resp, err := st.Recv()
		if err != nil {
			break
		}
		created += resp.Created
		errs = append(errs, resp.Errors...)
	}
	if created != 1 || len(errs) != 1 || errs[0].Identifier != "88.100/bad" || errs[0].Code != "InvalidArgument" ||
		!strings.Contains(errs[0].Message, "rule gs1-gtin") {
		t.Fatalf("created %d, errors %v; want 1 created and 88.100/bad refused by rule gs1-gtin", created, errs)
	}
	l, err := e.reg.ListAudit(e.ctx(e.root), &idresv1.ListAuditRequest{})
	e.must(err)
	var imported []string
	for _, r := range l.Records {
		if r.Call == "Import" {
			imported = append(imported, r.Target)
		}
	}
	if fmt.Sprint(imported) != "[88.100/good]" {
		t.Errorf("Import audit records for %v, want only 88.100/good", imported)
	}
}
