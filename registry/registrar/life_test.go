package registrar_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/resolver/answer"
)

func setPattern(e *renv, prefix, pat string, vals ...*idresv1.Value) error {
	_, err := e.reg.SetPattern(e.ctx(e.root), &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: prefix, Pattern: pat, Values: vals}})
	return err
}

func resolveAs(e *renv, c *credential.Credential, id string) *idresv1.ResolveResponse {
	e.t.Helper()
	ctx := context.Background()
	if c != nil {
		ctx = credential.WithCredential(ctx, c)
	}
	resp, err := (&answer.Authority{Store: e.store}).Resolve(ctx, &idresv1.ResolveRequest{Identifier: id})
	e.must(err)
	return resp
}

// TestSetPatternChecks pins LIFE-001/002: what SetPattern refuses.
func TestSetPatternChecks(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	url := rval(1, "URL", "https://example.com/pumps/{serial}")
	e.must(setPattern(e, "88.100", "PUMP-{serial:000000-499999}", url))
	for _, tc := range []struct {
		name, prefix, pattern string
		vals                  []*idresv1.Value
		want                  codes.Code
	}{
		{"disjoint range", "88.100", "PUMP-{serial:500000-999999}", []*idresv1.Value{url}, codes.OK},
		{"same text replaces", "88.100", "PUMP-{serial:000000-499999}", []*idresv1.Value{url, rval(2, "batch", "B1")}, codes.OK},
		{"overlapping range", "88.100", "PUMP-{serial:400000-599999}", []*idresv1.Value{url}, codes.FailedPrecondition},
		{"overlapping token", "88.100", "PUMP-{x}", []*idresv1.Value{rval(1, "URL", "{x}")}, codes.FailedPrecondition},
		{"unknown capture in template", "88.100", "VALVE-{serial:0000-9999}", []*idresv1.Value{rval(1, "URL", "https://x/{lot}")}, codes.InvalidArgument},
		{"unbounded capture", "88.100", "VALVE-{serial:0000-}", []*idresv1.Value{url}, codes.InvalidArgument},
		{"no capture", "88.100", "VALVE-1", []*idresv1.Value{url}, codes.InvalidArgument},
		{"no values", "88.100", "VALVE-{n:0-9}", nil, codes.InvalidArgument},
		{"reserved type", "88.100", "VALVE-{n:0-9}", []*idresv1.Value{rval(1, "HS_ADMIN", "{n}")}, codes.InvalidArgument},
		{"prefix not held", "88.200", "VALVE-{n:0-9}", []*idresv1.Value{rval(1, "URL", "{n}")}, codes.NotFound},
	} {
		if got := status.Code(setPattern(e, tc.prefix, tc.pattern, tc.vals...)); got != tc.want {
			t.Errorf("%s: SetPattern(%q) = %v, want %v", tc.name, tc.pattern, got, tc.want)
		}
	}
	list, err := e.reg.ListPatterns(e.ctx(e.root), &idresv1.ListPatternsRequest{Prefix: "88.100"})
	e.must(err)
	if len(list.Patterns) != 2 || len(list.Patterns[0].Values) != 2 {
		t.Errorf("patterns = %v, want the two PUMP ranges, the first with two values", list.Patterns)
	}
}

// TestPatternResolution pins LIFE-003/004: a matching identifier without
// a record is answered from the pattern, marked; a record wins; deleting
// the pattern makes it NOT_FOUND again.
func TestPatternResolution(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	e.must(setPattern(e, "88.100", "PUMP-{serial:000000-999999}",
		rval(1, "URL", "https://example.com/pumps/{serial}"), rval(2, "model", "P{{X}}-{serial}")))
	e.ident("88.100/PUMP-000007", rval(1, "URL", "https://example.com/special"))
	for _, tc := range []struct {
		id      string
		outcome idresv1.Outcome
		url     string
		derived bool
	}{
		{"88.100/PUMP-000042", idresv1.Outcome_OUTCOME_OK, "https://example.com/pumps/000042", true},
		{"88.100/pump-999999", idresv1.Outcome_OUTCOME_OK, "https://example.com/pumps/999999", true},
		{"88.100/PUMP-000007", idresv1.Outcome_OUTCOME_OK, "https://example.com/special", false},
		{"88.100/PUMP-42", idresv1.Outcome_OUTCOME_NOT_FOUND, "", false},
		{"88.100/VALVE-000042", idresv1.Outcome_OUTCOME_NOT_FOUND, "", false},
	} {
		r := resolveAs(e, nil, tc.id)
		if r.Outcome != tc.outcome {
			t.Errorf("%s: %v (%s), want %v", tc.id, r.Outcome, r.Message, tc.outcome)
			continue
		}
		if (r.DerivedFromPattern != "") != tc.derived {
			t.Errorf("%s: derived_from_pattern %q, want derived=%v", tc.id, r.DerivedFromPattern, tc.derived)
		}
		if tc.url != "" && (len(r.Values) == 0 || string(r.Values[0].Data) != tc.url) {
			t.Errorf("%s: values %v, want URL %s", tc.id, r.Values, tc.url)
		}
		if tc.derived && (r.Identifier != tc.id || string(r.Values[1].Data) != "P{X}-"+tc.id[len(tc.id)-6:]) {
			t.Errorf("%s: identifier %q, model %q", tc.id, r.Identifier, r.Values[1].Data)
		}
	}
	_, err := e.reg.DeletePattern(e.ctx(e.root), &idresv1.DeletePatternRequest{Prefix: "88.100", Pattern: "PUMP-{serial:000000-999999}"})
	e.must(err)
	if r := resolveAs(e, nil, "88.100/PUMP-000042"); r.Outcome != idresv1.Outcome_OUTCOME_NOT_FOUND {
		t.Errorf("after DeletePattern: %v, want NOT_FOUND", r.Outcome)
	}
	if _, err := e.reg.DeletePattern(e.ctx(e.root), &idresv1.DeletePatternRequest{Prefix: "88.100", Pattern: "PUMP-{serial:000000-999999}"}); status.Code(err) != codes.NotFound {
		t.Errorf("deleting a missing pattern: %v", err)
	}
}

// TestTombstoneLifecycle pins LIFE-010..013.
func TestTombstoneLifecycle(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	e.ident("88.100/Old")
	e.ident("88.100/Plain")
	write := e.issue("88.100", credential.RoleWrite, e.clk.Now().AddDate(1, 0, 0))
	del := func(tok, id string, o *idresv1.TombstoneOptions) codes.Code {
		_, err := e.reg.DeleteIdentifier(e.ctx(tok), &idresv1.DeleteIdentifierRequest{Identifier: id, Tombstone: o})
		return status.Code(err)
	}
	for _, tc := range []struct {
		name string
		id   string
		o    *idresv1.TombstoneOptions
		want codes.Code
	}{
		{"bad successor", "88.100/Old", &idresv1.TombstoneOptions{Successor: "no-slash"}, codes.InvalidArgument},
		{"own successor", "88.100/Old", &idresv1.TombstoneOptions{Successor: "88.100/OLD"}, codes.InvalidArgument},
		{"control in reason", "88.100/Old", &idresv1.TombstoneOptions{Reason: "a\nb"}, codes.InvalidArgument},
		{"missing", "88.100/Nothing", &idresv1.TombstoneOptions{}, codes.NotFound},
		{"tombstone", "88.100/Old", &idresv1.TombstoneOptions{Reason: "recalled", Successor: "88.100/New"}, codes.OK},
		{"twice", "88.100/old", &idresv1.TombstoneOptions{}, codes.NotFound},
		{"plain delete", "88.100/Plain", nil, codes.OK},
	} {
		if got := del(write, tc.id, tc.o); got != tc.want {
			t.Errorf("%s: DeleteIdentifier(%s) = %v, want %v", tc.name, tc.id, got, tc.want)
		}
	}
	r := resolveAs(e, nil, "88.100/old")
	if r.Outcome != idresv1.Outcome_OUTCOME_GONE || r.Tombstone.GetSuccessor() != "88.100/New" || r.Tombstone.GetReason() != "recalled" ||
		r.Identifier != "88.100/Old" || r.Tombstone.GetDeleted() == nil {
		t.Errorf("resolve tombstoned: %v", r)
	}
	if r.Tombstone.GetDeletedBy() != "" {
		t.Errorf("an anonymous resolver learnt who deleted it: %q", r.Tombstone.GetDeletedBy())
	}
	wc, err := credential.ParseToken(write)
	e.must(err)
	if r := resolveAs(e, &credential.Credential{ID: wc.ID, Role: credential.RoleWrite, Prefix: "88.100"}, "88.100/old"); r.Tombstone.GetDeletedBy() != wc.ID {
		t.Errorf("the registrar sees deleted_by %q, want %q", r.Tombstone.GetDeletedBy(), wc.ID)
	}
	if r := resolveAs(e, nil, "88.100/Plain"); r.Outcome != idresv1.Outcome_OUTCOME_NOT_FOUND {
		t.Errorf("plain delete: %v, want NOT_FOUND", r.Outcome)
	}
	create := func(tok string) codes.Code {
		_, err := e.reg.CreateIdentifier(e.ctx(tok), &idresv1.CreateIdentifierRequest{Identifier: "88.100/OLD", Values: []*idresv1.Value{rval(1, "URL", "https://x")}})
		return status.Code(err)
	}
	if got := create(e.root); got != codes.FailedPrecondition {
		t.Errorf("re-register over a tombstone: %v, want FailedPrecondition", got)
	}
	lift := func(tok string) codes.Code {
		_, err := e.reg.LiftTombstone(e.ctx(tok), &idresv1.LiftTombstoneRequest{Identifier: "88.100/old"})
		return status.Code(err)
	}
	if got := lift(write); got != codes.PermissionDenied {
		t.Errorf("LiftTombstone with write: %v, want PermissionDenied", got)
	}
	if got := lift(e.root); got != codes.OK {
		t.Errorf("LiftTombstone as admin: %v", got)
	}
	if got := lift(e.root); got != codes.NotFound {
		t.Errorf("LiftTombstone twice: %v, want NotFound", got)
	}
	if got := create(e.root); got != codes.OK {
		t.Errorf("re-register after lifting: %v", got)
	}
}

// TestTombstoneOfDerived: a serial of a range can be withdrawn; its
// neighbours still resolve from the pattern.
func TestTombstoneOfDerived(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	e.must(setPattern(e, "88.100", "PUMP-{serial:000000-999999}", rval(1, "URL", "https://example.com/pumps/{serial}")))
	_, err := e.reg.DeleteIdentifier(e.ctx(e.root), &idresv1.DeleteIdentifierRequest{Identifier: "88.100/PUMP-000013", Tombstone: &idresv1.TombstoneOptions{Reason: "recalled"}})
	e.must(err)
	if r := resolveAs(e, nil, "88.100/PUMP-000013"); r.Outcome != idresv1.Outcome_OUTCOME_GONE {
		t.Errorf("withdrawn serial: %v, want GONE", r.Outcome)
	}
	if r := resolveAs(e, nil, "88.100/PUMP-000014"); r.Outcome != idresv1.Outcome_OUTCOME_OK || r.DerivedFromPattern == "" {
		t.Errorf("neighbour: %v", r)
	}
}
