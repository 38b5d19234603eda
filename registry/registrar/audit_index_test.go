package registrar_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
)

// appendAudit writes records straight into the log of e's store, n per
// transaction, at the given prefixes and times.
func (e *renv) appendAudit(recs []*idresv1.AuditRecord) {
	e.t.Helper()
	for i := 0; i < len(recs); i += 2000 {
		err := e.store.Update(func(tx *store.Tx) error {
			for _, r := range recs[i:min(i+2000, len(recs))] {
				if err := tx.AppendAudit(r); err != nil {
					return err
				}
			}
			return nil
		})
		e.must(err)
	}
}

// wholeLog is every record of the log, read the plain way.
func (e *renv) wholeLog() []*idresv1.AuditRecord {
	e.t.Helper()
	var log []*idresv1.AuditRecord
	e.must(e.store.View(func(tx *store.Tx) error {
		return tx.ForEachAudit(0, func(r *idresv1.AuditRecord) (bool, error) { log = append(log, r); return true, nil })
	}))
	return log
}

// listAll pages through ListAudit with req and returns the sequence
// numbers, checking that only the last page is short and has no token.
func (e *renv) listAll(req *idresv1.ListAuditRequest) []uint64 {
	e.t.Helper()
	var out []uint64
	for {
		l, err := e.reg.ListAudit(e.ctx(e.root), req)
		e.must(err)
		for _, r := range l.Records {
			out = append(out, r.Seq)
		}
		if l.NextPageToken == "" {
			return out
		}
		if want := int(max(req.Limit, 1)); len(l.Records) != want && req.Limit != 0 {
			e.t.Fatalf("%v: page of %d records with a next page, want %d", req, len(l.Records), want)
		}
		req.PageToken = l.NextPageToken
	}
}

// scan is ListAudit's answer computed from the whole log.
func scan(log []*idresv1.AuditRecord, scope string, since *timestamppb.Timestamp) []uint64 {
	var out []uint64
	for _, r := range log {
		if ident.Covers(scope, r.Prefix) && (since == nil || !r.Time.AsTime().Before(since.AsTime())) {
			out = append(out, r.Seq)
		}
	}
	return out
}

// TestListAuditPagesMatchScan: every page of every listing, over a log of
// many prefixes whose clock steps back, is what filtering the whole log
// gives.
func TestListAuditPagesMatchScan(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	rng := rand.New(rand.NewPCG(19, 9))
	prefixes := []string{"88", "88.1", "88.10", "88.1-x", "88.1.2", "88.100.1", "88.100.2", "880", "89.1", "8"}
	at := e.clk.Now()
	var recs []*idresv1.AuditRecord
	for range 3000 {
		if rng.IntN(8) == 0 {
			at = at.Add(-time.Duration(rng.IntN(30)) * time.Second)
		} else {
			at = at.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		}
		recs = append(recs, &idresv1.AuditRecord{Time: timestamppb.New(at), Call: "X", Prefix: prefixes[rng.IntN(len(prefixes))]})
	}
	e.appendAudit(recs)
	log := e.wholeLog()
	for _, scope := range append(prefixes, "", "88.1.2.3", "7") {
		for range 6 {
			var since *timestamppb.Timestamp
			if rng.IntN(4) != 0 {
				since = log[rng.IntN(len(log))].Time
			}
			req := &idresv1.ListAuditRequest{Prefix: scope, Since: since, Limit: uint32(rng.IntN(120))}
			want, got := scan(log, scope, since), e.listAll(req)
			if !slices.Equal(got, want) {
				t.Fatalf("prefix %q since %v limit %d: %d records %v..., want %d %v...", scope, since.AsTime(), req.Limit,
					len(got), got[:min(5, len(got))], len(want), want[:min(5, len(want))])
			}
		}
	}
}

// TestListAuditReadsOnlyItsPage: a listing of one prefix, or of the
// newest records, decodes its page and the one record that shows the page
// is not the last. A scan of the whole log decoded all 20,000.
func TestListAuditReadsOnlyItsPage(t *testing.T) {
	const n, limit = 20_000, 10
	e := newRenv(t, registrar.Limits{}, nil)
	start := e.clk.Now()
	recs := make([]*idresv1.AuditRecord, n)
	for i := range recs {
		recs[i] = &idresv1.AuditRecord{Time: timestamppb.New(start.Add(time.Duration(i) * time.Second)), Call: "X",
			Prefix: fmt.Sprintf("88.%d.%d", i%200/20, i%20)}
	}
	e.appendAudit(recs)
	log := e.wholeLog()
	tests := []struct {
		name string
		req  *idresv1.ListAuditRequest
	}{
		{"one prefix", &idresv1.ListAuditRequest{Prefix: "88.3.7", Limit: limit}},
		{"one prefix since", &idresv1.ListAuditRequest{Prefix: "88.3.7", Limit: limit, Since: timestamppb.New(start.Add(n / 2 * time.Second))}},
		{"the newest", &idresv1.ListAuditRequest{Limit: limit, Since: timestamppb.New(start.Add((n - 2*limit) * time.Second))}},
	}
	for _, tc := range tests {
		before := e.store.AuditRecordsRead()
		l, err := e.reg.ListAudit(e.ctx(e.root), tc.req)
		e.must(err)
		read := e.store.AuditRecordsRead() - before
		var got []uint64
		for _, r := range l.Records {
			got = append(got, r.Seq)
		}
		if want := scan(log, tc.req.Prefix, tc.req.Since)[:limit]; !slices.Equal(got, want) || l.NextPageToken == "" {
			t.Errorf("%s: %v (next %q), want %v and a next page", tc.name, got, l.NextPageToken, want)
		}
		if read > limit+1 {
			t.Errorf("%s: read %d audit records for a page of %d", tc.name, read, limit)
		}
	}
}
