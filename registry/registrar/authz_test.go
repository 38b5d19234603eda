package registrar_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
)

// The callers of the authorisation matrix. Their subtree is relative to
// the target subtree 88.100.1 ("own").
var callers = []string{"node-admin", "own-admin", "own-write", "own-read", "parent-admin", "sibling-admin", "child-admin", "revoked", "expired", "none", "garbage"}

// matrixRow is one Registry call against a target in 88.100.1. setup runs
// once per caller (numbered i) before any call, through the store, to give
// each caller its own fixture; call makes the call as that caller.
type matrixRow struct {
	method string
	need   string     // role the call needs on the target; "" = any credential (lists filter instead)
	okCode codes.Code // what an authorised caller gets
	setup  func(tx *store.Tx, i int) error
	// prep, when set, runs once per caller before any call, through the
	// API as the node administrator (for fixtures the store has no
	// direct call for).
	prep func(ctx context.Context, r idresv1.RegistryClient, i int) error
	call func(ctx context.Context, r idresv1.RegistryClient, i int) error
}

// wantCode is the policy the matrix checks, written out independently of
// policy.go.
func wantCode(row matrixRow, caller string) codes.Code {
	switch caller {
	case "revoked", "expired", "none", "garbage":
		return codes.Unauthenticated
	}
	if row.need == "" {
		return row.okCode
	}
	role := map[string]string{"node-admin": "admin", "own-admin": "admin", "parent-admin": "admin", "own-write": "write", "own-read": "read"}[caller]
	rank := map[string]int{"read": 1, "write": 2, "admin": 3}
	if role == "" || rank[role] < rank[row.need] { // sibling and child do not cover 88.100.1
		return codes.PermissionDenied
	}
	return row.okCode
}

func putIdent(tx *store.Tx, id string) error {
	_, err := tx.PutIdentifier(mustID(id), &idresv1.Identifier{Values: []*idresv1.Value{rval(1, "URL", "https://example.com")}})
	return err
}

func putPrefix(tx *store.Tx, p string) error {
	return tx.CreatePrefix(&idresv1.Prefix{Prefix: p})
}

func matrixRows() []matrixRow {
	ok := codes.OK
	return []matrixRow{
		{method: "CreatePrefix", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: fmt.Sprintf("88.100.1.n%d", i)}})
				return err
			}},
		{method: "GetPrefix", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: "88.100.1"})
				return err
			}},
		{method: "ListPrefixes", need: "", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{})
				return err
			}},
		{method: "DeletePrefix", need: "admin", okCode: ok,
			setup: func(tx *store.Tx, i int) error { return putPrefix(tx, fmt.Sprintf("88.100.1.d%d", i)) },
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: fmt.Sprintf("88.100.1.d%d", i)})
				return err
			}},
		{method: "CreateIdentifier", need: "write", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: fmt.Sprintf("88.100.1/new-%d", i), Values: []*idresv1.Value{rval(1, "URL", "https://x")}})
				return err
			}},
		{method: "GetIdentifier", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: "88.100.1/P1"})
				return err
			}},
		{method: "UpdateValues", need: "write", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100.1/P1", Replace: []*idresv1.Value{rval(2, "batch", fmt.Sprint(i))}})
				return err
			}},
		{method: "DeleteIdentifier", need: "write", okCode: ok,
			setup: func(tx *store.Tx, i int) error { return putIdent(tx, fmt.Sprintf("88.100.1/del-%d", i)) },
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: fmt.Sprintf("88.100.1/del-%d", i)})
				return err
			}},
		{method: "ListIdentifiers", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "88.100.1"})
				return err
			}},
		{method: "SetDelegation", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{Prefix: fmt.Sprintf("88.100.1.g%d", i), Grpc: []string{"127.0.0.1:7421"}}})
				return err
			}},
		{method: "GetDelegation", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.GetDelegation(ctx, &idresv1.GetDelegationRequest{Prefix: "88.100.1.9"})
				return err
			}},
		{method: "ListDelegations", need: "", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.ListDelegations(ctx, &idresv1.ListDelegationsRequest{})
				return err
			}},
		{method: "RemoveDelegation", need: "admin", okCode: ok,
			setup: func(tx *store.Tx, i int) error {
				return tx.PutDelegation(&idresv1.Delegation{Prefix: fmt.Sprintf("88.100.1.r%d", i), Grpc: []string{"127.0.0.1:7421"}})
			},
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.RemoveDelegation(ctx, &idresv1.RemoveDelegationRequest{Prefix: fmt.Sprintf("88.100.1.r%d", i)})
				return err
			}},
		{method: "Import", need: "write", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				st, err := r.Import(ctx)
				if err != nil {
					return err
				}
				err = st.Send(&idresv1.ImportRequest{Items: []*idresv1.ImportItem{{Identifier: fmt.Sprintf("88.100.1/imp-%d", i), Values: []*idresv1.Value{rval(1, "URL", "https://x")}}}})
				if err != nil && err != io.EOF {
					return err
				}
				if err := st.CloseSend(); err != nil {
					return err
				}
				for {
					resp, err := st.Recv()
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
					// Per-item refusals are in-band, with the code the
					// item would have got from CreateIdentifier.
					for _, ie := range resp.Errors {
						var c codes.Code
						if err := c.UnmarshalJSON([]byte(`"` + strings.ToUpper(camelToSnake(ie.Code)) + `"`)); err != nil {
							return fmt.Errorf("unknown code %q", ie.Code)
						}
						return status.Error(c, ie.Message)
					}
				}
			}},
		{method: "Search", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.Search(ctx, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "URL", Value: []byte("https://x")})
				return err
			}},
		{method: "Watch", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel() // a watch never ends by itself
				st, err := r.Watch(ctx, &idresv1.WatchRequest{Prefix: "88.100.1"})
				if err != nil {
					return err
				}
				_, err = st.Recv() // the first response carries the start position
				return err
			}},
		{method: "SetPattern", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				// The same text each time: SetPattern replaces it.
				_, err := r.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100.1", Pattern: "PUMP-{serial:000000-999999}", Values: []*idresv1.Value{rval(1, "URL", "https://x/{serial}")}}})
				return err
			}},
		{method: "ListPatterns", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.ListPatterns(ctx, &idresv1.ListPatternsRequest{Prefix: "88.100.1"})
				return err
			}},
		{method: "DeletePattern", need: "admin", okCode: ok,
			setup: func(tx *store.Tx, i int) error { return putPrefix(tx, fmt.Sprintf("88.100.1.p%d", i)) },
			prep: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: fmt.Sprintf("88.100.1.p%d", i), Pattern: "S{n:1-9999}", Values: []*idresv1.Value{rval(1, "URL", "https://x/{n}")}}})
				return err
			},
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.DeletePattern(ctx, &idresv1.DeletePatternRequest{Prefix: fmt.Sprintf("88.100.1.p%d", i), Pattern: "S{n:1-9999}"})
				return err
			}},
		{method: "LiftTombstone", need: "admin", okCode: ok,
			setup: func(tx *store.Tx, i int) error { return putIdent(tx, fmt.Sprintf("88.100.1/tomb-%d", i)) },
			prep: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: fmt.Sprintf("88.100.1/tomb-%d", i), Tombstone: &idresv1.TombstoneOptions{Reason: "withdrawn"}})
				return err
			},
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.LiftTombstone(ctx, &idresv1.LiftTombstoneRequest{Identifier: fmt.Sprintf("88.100.1/tomb-%d", i)})
				return err
			}},
		{method: "IssueCredential", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.IssueCredential(ctx, &idresv1.IssueCredentialRequest{Prefix: "88.100.1", Role: "read"})
				return err
			}},
		{method: "ListCredentials", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.ListCredentials(ctx, &idresv1.ListCredentialsRequest{Prefix: "88.100.1"})
				return err
			}},
		{method: "RevokeCredential", need: "admin", okCode: ok,
			setup: func(tx *store.Tx, i int) error {
				return tx.PutCredential(&credential.Credential{ID: fmt.Sprintf("victim%010d", i), SecretHash: credential.Hash("x"), Prefix: "88.100.1", Role: "read"})
			},
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.RevokeCredential(ctx, &idresv1.RevokeCredentialRequest{Id: fmt.Sprintf("victim%010d", i)})
				return err
			}},
		{method: "SetTemplate", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.SetTemplate(ctx, &idresv1.SetTemplateRequest{Template: &idresv1.Template{Prefix: "88.100.1", Fields: []*idresv1.TemplateField{{Type: "batch", Kind: "string"}}}})
				return err
			}},
		{method: "GetTemplate", need: "read", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.GetTemplate(ctx, &idresv1.GetTemplateRequest{Prefix: "88.100.1", Effective: true})
				return err
			}},
		{method: "DeleteTemplate", need: "admin", okCode: ok,
			setup: func(tx *store.Tx, i int) error {
				p := fmt.Sprintf("88.100.1.t%d", i)
				if err := putPrefix(tx, p); err != nil {
					return err
				}
				return tx.PutTemplate(p, &idresv1.Template{Prefix: p})
			},
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.DeleteTemplate(ctx, &idresv1.DeleteTemplateRequest{Prefix: fmt.Sprintf("88.100.1.t%d", i)})
				return err
			}},
		{method: "ListAudit", need: "admin", okCode: ok,
			call: func(ctx context.Context, r idresv1.RegistryClient, i int) error {
				_, err := r.ListAudit(ctx, &idresv1.ListAuditRequest{Prefix: "88.100.1"})
				return err
			}},
	}
}

func camelToSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// matrixEnv holds 88.100 with children 88.100.1 (the target subtree, with
// 88.100.1/P1, a template and the delegation 88.100.1.9) and 88.100.2, and
// a token per caller.
func matrixEnv(t *testing.T) (*renv, map[string]string) {
	e := newRenv(t, registrar.Limits{}, nil)
	for _, p := range []string{"88.100", "88.100.1", "88.100.2", "88.100.1.7"} {
		e.prefix(p)
	}
	e.ident("88.100.1/P1")
	e.ident("88.100.2/P1")
	e.must(e.store.Update(func(tx *store.Tx) error {
		if err := tx.PutTemplate("88.100.1", &idresv1.Template{Prefix: "88.100.1"}); err != nil {
			return err
		}
		return tx.PutDelegation(&idresv1.Delegation{Prefix: "88.100.1.9", Grpc: []string{"127.0.0.1:7421"}})
	}))
	tok := map[string]string{
		"node-admin":    e.root,
		"own-admin":     e.issue("88.100.1", credential.RoleAdmin, time.Time{}),
		"own-write":     e.issue("88.100.1", credential.RoleWrite, time.Time{}),
		"own-read":      e.issue("88.100.1", credential.RoleRead, time.Time{}),
		"parent-admin":  e.issue("88.100", credential.RoleAdmin, time.Time{}),
		"sibling-admin": e.issue("88.100.2", credential.RoleAdmin, time.Time{}),
		"child-admin":   e.issue("88.100.1.7", credential.RoleAdmin, time.Time{}),
		"revoked":       e.issue("88.100.1", credential.RoleAdmin, time.Time{}),
		"expired":       e.issue("88.100.1", credential.RoleAdmin, e.clk.Now().Add(time.Hour)),
		"none":          "",
		"garbage":       "0123456789abcdef.not-the-secret",
	}
	revoked, _ := credential.ParseToken(tok["revoked"])
	_, err := e.reg.RevokeCredential(e.ctx(e.root), &idresv1.RevokeCredentialRequest{Id: revoked.ID})
	e.must(err)
	e.clk.Advance(2 * time.Hour)
	return e, tok
}

// TestAuthorisationMatrix: every Registry call x every caller, exact code.
func TestAuthorisationMatrix(t *testing.T) {
	e, tok := matrixEnv(t)
	rows := matrixRows()

	// Every method of the service has a row: adding a call without one
	// fails here.
	var have, want []string
	for _, r := range rows {
		have = append(have, r.method)
	}
	for _, m := range idresv1.Registry_ServiceDesc.Methods {
		want = append(want, m.MethodName)
	}
	for _, s := range idresv1.Registry_ServiceDesc.Streams {
		want = append(want, s.StreamName)
	}
	sort.Strings(have)
	sort.Strings(want)
	// The audit log is read-only through the API (AUTH-005).
	for _, m := range want {
		if strings.Contains(m, "Audit") && m != "ListAudit" {
			t.Errorf("Registry method %s would let callers change the audit log", m)
		}
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		t.Fatalf("matrix rows %v, Registry methods %v: add a row for every call", have, want)
	}

	for _, row := range rows {
		if row.setup != nil {
			e.must(e.store.Update(func(tx *store.Tx) error {
				for i := range callers {
					if err := row.setup(tx, i); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		if row.prep != nil {
			var err error
			for i := range callers {
				if err = row.prep(e.ctx(tok["node-admin"]), e.reg, i); err != nil {
					break
				}
			}
			if err != nil {
				t.Errorf("%s: preparing the fixtures: %v", row.method, err)
				continue
			}
		}
		for i, caller := range callers {
			err := row.call(e.ctx(tok[caller]), e.reg, i)
			got, want := status.Code(err), wantCode(row, caller)
			if got != want {
				t.Errorf("%s as %s: %v (%v), want %v", row.method, caller, got, err, want)
				continue
			}
			if got == codes.PermissionDenied && !strings.Contains(status.Convert(err).Message(), "covers prefix") {
				t.Errorf("%s as %s: PermissionDenied %q does not say what the credential covers", row.method, caller, status.Convert(err).Message())
			}
		}
	}
}

// TestNoForeignLeak: a caller outside the subtree gets the same answer
// whether or not the foreign target exists.
func TestNoForeignLeak(t *testing.T) {
	e, tok := matrixEnv(t)
	foreign := e.ctx(tok["sibling-admin"])
	pairs := []struct {
		name             string
		exists, notExist func() error
	}{
		{"GetIdentifier",
			func() error {
				_, err := e.reg.GetIdentifier(foreign, &idresv1.GetIdentifierRequest{Identifier: "88.100.1/P1"})
				return err
			},
			func() error {
				_, err := e.reg.GetIdentifier(foreign, &idresv1.GetIdentifierRequest{Identifier: "88.100.1/P2"})
				return err
			}},
		{"CreateIdentifier",
			func() error {
				_, err := e.reg.CreateIdentifier(foreign, &idresv1.CreateIdentifierRequest{Identifier: "88.100.1/P1", Values: []*idresv1.Value{rval(1, "URL", "x")}})
				return err
			},
			func() error {
				_, err := e.reg.CreateIdentifier(foreign, &idresv1.CreateIdentifierRequest{Identifier: "88.100.1/P2", Values: []*idresv1.Value{rval(1, "URL", "x")}})
				return err
			}},
		{"UpdateValues",
			func() error {
				_, err := e.reg.UpdateValues(foreign, &idresv1.UpdateValuesRequest{Identifier: "88.100.1/P1", Remove: []uint32{1}})
				return err
			},
			func() error {
				_, err := e.reg.UpdateValues(foreign, &idresv1.UpdateValuesRequest{Identifier: "88.100.1/P2", Remove: []uint32{1}})
				return err
			}},
		{"DeleteIdentifier",
			func() error {
				_, err := e.reg.DeleteIdentifier(foreign, &idresv1.DeleteIdentifierRequest{Identifier: "88.100.1/P1"})
				return err
			},
			func() error {
				_, err := e.reg.DeleteIdentifier(foreign, &idresv1.DeleteIdentifierRequest{Identifier: "88.100.1/P2"})
				return err
			}},
		{"GetPrefix",
			func() error {
				_, err := e.reg.GetPrefix(foreign, &idresv1.GetPrefixRequest{Prefix: "88.100.1"})
				return err
			},
			func() error {
				_, err := e.reg.GetPrefix(foreign, &idresv1.GetPrefixRequest{Prefix: "88.100.3"})
				return err
			}},
		{"ListIdentifiers",
			func() error {
				_, err := e.reg.ListIdentifiers(foreign, &idresv1.ListIdentifiersRequest{Prefix: "88.100.1"})
				return err
			},
			func() error {
				_, err := e.reg.ListIdentifiers(foreign, &idresv1.ListIdentifiersRequest{Prefix: "88.100.3"})
				return err
			}},
		{"GetTemplate",
			func() error {
				_, err := e.reg.GetTemplate(foreign, &idresv1.GetTemplateRequest{Prefix: "88.100.1"})
				return err
			},
			func() error {
				_, err := e.reg.GetTemplate(foreign, &idresv1.GetTemplateRequest{Prefix: "88.100.3"})
				return err
			}},
		{"GetDelegation",
			func() error {
				_, err := e.reg.GetDelegation(foreign, &idresv1.GetDelegationRequest{Prefix: "88.100.1.9"})
				return err
			},
			func() error {
				_, err := e.reg.GetDelegation(foreign, &idresv1.GetDelegationRequest{Prefix: "88.100.1.8"})
				return err
			}},
		{"RevokeCredential",
			func() error {
				own, _ := credential.ParseToken(tok["own-read"])
				_, err := e.reg.RevokeCredential(foreign, &idresv1.RevokeCredentialRequest{Id: own.ID})
				return err
			},
			func() error {
				_, err := e.reg.RevokeCredential(foreign, &idresv1.RevokeCredentialRequest{Id: "ffffffffffffffff"})
				return err
			}},
	}
	for _, p := range pairs {
		a, b := p.exists(), p.notExist()
		if status.Code(a) != codes.PermissionDenied {
			t.Errorf("%s on an existing foreign target: %v, want PermissionDenied", p.name, a)
		}
		// The messages may differ only in the target's own name.
		ma := status.Convert(a).Message()
		mb := status.Convert(b).Message()
		for _, r := range []*strings.Replacer{strings.NewReplacer("P1", "X", "P2", "X", "88.100.1.9", "X", "88.100.1.8", "X", "88.100.1", "X", "88.100.3", "X")} {
			ma, mb = r.Replace(ma), r.Replace(mb)
		}
		own, _ := credential.ParseToken(tok["own-read"])
		ma = strings.ReplaceAll(ma, own.ID, "ID")
		mb = strings.ReplaceAll(mb, "ffffffffffffffff", "ID")
		if status.Code(a) != status.Code(b) || ma != mb {
			t.Errorf("%s: existing target answers %v %q, missing one %v %q", p.name, status.Code(a), ma, status.Code(b), mb)
		}
	}
}

// TestPrivateValuesNeedCredential: values with public_read=false show to
// credentials of any role covering the prefix (checked via
// credential.CanReadPrivate, which the resolver uses), not to foreign ones.
func TestCanReadPrivate(t *testing.T) {
	cases := []struct {
		cred   *credential.Credential
		prefix string
		want   bool
	}{
		{&credential.Credential{Prefix: "88.100.1", Role: credential.RoleRead}, "88.100.1", true},
		{&credential.Credential{Prefix: "88.100.1", Role: credential.RoleRead}, "88.100.1.7", true},
		{&credential.Credential{Prefix: "88.100", Role: credential.RoleWrite}, "88.100.1", true},
		{&credential.Credential{Prefix: "", Role: credential.RoleAdmin}, "88.100.1", true},
		{&credential.Credential{Prefix: "88.100.2", Role: credential.RoleAdmin}, "88.100.1", false},
		{&credential.Credential{Prefix: "88.100.1.7", Role: credential.RoleAdmin}, "88.100.1", false},
		{&credential.Credential{Prefix: "88.100.1", Role: credential.RoleAdmin}, "88.100.10", false},
		{nil, "88.100.1", false},
	}
	for _, c := range cases {
		if got := credential.CanReadPrivate(c.cred, c.prefix); got != c.want {
			t.Errorf("CanReadPrivate(%+v, %q) = %v, want %v", c.cred, c.prefix, got, c.want)
		}
	}
}
