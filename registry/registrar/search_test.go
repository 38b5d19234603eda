package registrar_test

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
)

// hitNames lists hits as "identifier type=data", sorted.
func hitNames(hits []*idresv1.SearchHit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, fmt.Sprintf("%s %s=%s", h.GetIdentifier(), h.GetValue().GetType(), h.GetValue().GetData()))
	}
	slices.Sort(out)
	return out
}

func TestSearchScopeAndMatch(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	for _, p := range []string{"88.100", "88.100.1", "88.200", "20"} {
		e.prefix(p)
	}
	e.ident("88.100/P-1", rval(1, "batch", "B-2026-07"), rval(2, "URL", "https://x/1"))
	e.ident("88.100.1/P-2", rval(1, "batch", "B-2026-07"))
	e.ident("88.100.1/P-3", rval(1, "batch", "B-2026-08"), rval(2, "lot", "B-2026-07"))
	e.ident("88.200/P-4", rval(1, "batch", "B-2026-07"))
	e.ident("20/P-5", rval(1, "batch", "b-2026-07"))
	// The Import path maintains the index like every other write.
	imp, err := e.reg.Import(e.ctx(e.root))
	e.must(err)
	e.must(imp.Send(&idresv1.ImportRequest{Options: &idresv1.ImportOptions{}, Items: []*idresv1.ImportItem{
		{Sequence: 1, Identifier: "88.100.1/P-6", Values: []*idresv1.Value{rval(1, "batch", "B-2026-07")}},
		{Sequence: 2, Identifier: "88.100.1/P-7", Values: []*idresv1.Value{rval(1, "batch", "B-2026-0")}},
	}}))
	e.must(imp.CloseSend())
	ack, err := imp.Recv()
	if err != nil || ack.GetCreated() != 2 {
		t.Fatalf("import: %v %v", ack, err)
	}
	reader100 := e.issue("88.100", credential.RoleRead, time.Time{})
	writer1 := e.issue("88.100.1", credential.RoleWrite, time.Time{})

	tests := []struct {
		name     string
		tok      string
		req      *idresv1.SearchRequest
		want     []string
		wantCode string
	}{
		{"exact in a subtree with its children", reader100, &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", Value: []byte("B-2026-07")},
			[]string{"88.100.1/P-2 batch=B-2026-07", "88.100.1/P-6 batch=B-2026-07", "88.100/P-1 batch=B-2026-07"}, "OK"},
		{"exact in a child only", writer1, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "batch", Value: []byte("B-2026-07")},
			[]string{"88.100.1/P-2 batch=B-2026-07", "88.100.1/P-6 batch=B-2026-07"}, "OK"},
		{"value prefix", writer1, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "batch", Value: []byte("B-2026-0"), PrefixMatch: true},
			[]string{"88.100.1/P-2 batch=B-2026-07", "88.100.1/P-3 batch=B-2026-08", "88.100.1/P-6 batch=B-2026-07", "88.100.1/P-7 batch=B-2026-0"}, "OK"},
		{"exact is not a prefix", writer1, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "batch", Value: []byte("B-2026-0")},
			[]string{"88.100.1/P-7 batch=B-2026-0"}, "OK"},
		{"type is exact", writer1, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "BATCH", Value: []byte("B-2026-07")}, nil, "OK"},
		{"data is exact (case)", e.root, &idresv1.SearchRequest{Prefix: "20", Type: "batch", Value: []byte("B-2026-07")}, nil, "OK"},
		{"other type, same data", writer1, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "lot", Value: []byte("B-2026-07")},
			[]string{"88.100.1/P-3 lot=B-2026-07"}, "OK"},
		{"whole node for the root", e.root, &idresv1.SearchRequest{Type: "batch", Value: []byte("B-2026-07")},
			[]string{"88.100.1/P-2 batch=B-2026-07", "88.100.1/P-6 batch=B-2026-07", "88.100/P-1 batch=B-2026-07", "88.200/P-4 batch=B-2026-07"}, "OK"},
		{"prefix case folded", reader100, &idresv1.SearchRequest{Prefix: "88.100.1", Type: "batch", Value: []byte("B-2026-08")},
			[]string{"88.100.1/P-3 batch=B-2026-08"}, "OK"},
		{"sibling refused", writer1, &idresv1.SearchRequest{Prefix: "88.200", Type: "batch", Value: []byte("B-2026-07")}, nil, "PermissionDenied"},
		{"parent refused", writer1, &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", Value: []byte("B-2026-07")}, nil, "PermissionDenied"},
		{"whole node refused", reader100, &idresv1.SearchRequest{Type: "batch", Value: []byte("B-2026-07")}, nil, "PermissionDenied"},
		{"no credential", "", &idresv1.SearchRequest{Prefix: "88.100", Type: "batch"}, nil, "Unauthenticated"},
		{"no type", reader100, &idresv1.SearchRequest{Prefix: "88.100", Value: []byte("x")}, nil, "InvalidArgument"},
		{"bad prefix", reader100, &idresv1.SearchRequest{Prefix: "88..100", Type: "batch"}, nil, "InvalidArgument"},
		{"page too large", reader100, &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", PageSize: 1001}, nil, "InvalidArgument"},
		{"foreign token", reader100, &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", PageToken: "ODguMTAwLw"}, nil, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.reg.Search(e.ctx(tt.tok), tt.req)
			if rcode(err) != tt.wantCode {
				t.Fatalf("code = %s (%v), want %s", rcode(err), err, tt.wantCode)
			}
			if got := hitNames(resp.GetHits()); !slices.Equal(got, tt.want) {
				t.Errorf("hits:\n got %q\nwant %q", got, tt.want)
			}
		})
	}

	// A change moves the identifier in the index in the same transaction.
	_, err = e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100/P-1", Replace: []*idresv1.Value{rval(1, "batch", "B-2026-09")}})
	e.must(err)
	_, err = e.reg.DeleteIdentifier(e.ctx(e.root), &idresv1.DeleteIdentifierRequest{Identifier: "88.100.1/P-2"})
	e.must(err)
	resp, err := e.reg.Search(e.ctx(reader100), &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", Value: []byte("B-2026-0"), PrefixMatch: true})
	e.must(err)
	want := []string{"88.100.1/P-3 batch=B-2026-08", "88.100.1/P-6 batch=B-2026-07", "88.100.1/P-7 batch=B-2026-0", "88.100/P-1 batch=B-2026-09"}
	if got := hitNames(resp.GetHits()); !slices.Equal(got, want) {
		t.Errorf("after update and delete:\n got %q\nwant %q", got, want)
	}
	e.must(e.store.View(func(tx *store.Tx) error { return tx.CheckIndex() }))
}

func TestSearchPaging(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	e.prefix("88.100.1")
	var want []string
	for i := range 23 {
		p := []string{"88.100", "88.100.1"}[i%2]
		id := fmt.Sprintf("%s/part-%02d", p, i)
		e.ident(id, rval(1, "batch", "B-1"), rval(2, "batch", fmt.Sprintf("B-1-%d", i%3)))
		want = append(want, id+" batch=B-1", fmt.Sprintf("%s batch=B-1-%d", id, i%3))
	}
	slices.Sort(want)
	for _, size := range []uint32{1, 7, 46, 100} {
		t.Run(fmt.Sprintf("page size %d", size), func(t *testing.T) {
			req := &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", Value: []byte("B-1"), PrefixMatch: true, PageSize: size}
			var hits []*idresv1.SearchHit
			for pages := 1; ; pages++ {
				resp, err := e.reg.Search(e.ctx(e.root), req)
				e.must(err)
				if len(resp.GetHits()) > int(size) {
					t.Fatalf("page of %d hits, size %d", len(resp.GetHits()), size)
				}
				hits = append(hits, resp.GetHits()...)
				if resp.GetNextPageToken() == "" {
					break
				}
				if pages > len(want) {
					t.Fatal("paging does not end")
				}
				req.PageToken = resp.GetNextPageToken()
			}
			if got := hitNames(hits); !slices.Equal(got, want) {
				t.Errorf("paged hits:\n got %q\nwant %q", got, want)
			}
		})
	}
	// A token is good only for the query that issued it.
	resp, err := e.reg.Search(e.ctx(e.root), &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", Value: []byte("B-1"), PrefixMatch: true, PageSize: 3})
	e.must(err)
	for _, req := range []*idresv1.SearchRequest{
		{Prefix: "88.100", Type: "batch", Value: []byte("B-2"), PrefixMatch: true, PageToken: resp.GetNextPageToken()},
		{Prefix: "88.100", Type: "lot", Value: []byte("B-1"), PrefixMatch: true, PageToken: resp.GetNextPageToken()},
		{Prefix: "88.100.1", Type: "batch", Value: []byte("B-1"), PrefixMatch: true, PageToken: resp.GetNextPageToken()},
	} {
		if _, err := e.reg.Search(e.ctx(e.root), req); rcode(err) != "InvalidArgument" {
			t.Errorf("token reused for %v: %s, want InvalidArgument", req, rcode(err))
		}
	}
	lst, err := e.reg.ListIdentifiers(e.ctx(e.root), &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageSize: 1})
	e.must(err)
	if _, err := e.reg.Search(e.ctx(e.root), &idresv1.SearchRequest{Prefix: "88.100", Type: "batch", PageToken: lst.GetNextPageToken()}); rcode(err) != "InvalidArgument" {
		t.Errorf("a ListIdentifiers token: %s, want InvalidArgument", rcode(err))
	}
}

// recvChanges reads responses until n changes arrived.
func recvChanges(t *testing.T, st idresv1.Registry_WatchClient, n int) []*idresv1.Change {
	t.Helper()
	var out []*idresv1.Change
	for len(out) < n {
		resp, err := st.Recv()
		if err == io.EOF || err != nil {
			t.Fatalf("after %d of %d changes: %v", len(out), n, err)
		}
		out = append(out, resp.GetChanges()...)
	}
	return out
}

func changeNames(cs []*idresv1.Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s %s;", strings.ToLower(c.GetKind().String()), c.GetIdentifier())
	}
	return b.String()
}

func TestWatchScope(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	for _, p := range []string{"88.100", "88.100.1", "88.200"} {
		e.prefix(p)
	}
	e.ident("88.100/before")
	rev, err := e.store.Revision()
	e.must(err)
	writer1 := e.issue("88.100.1", credential.RoleWrite, time.Time{})
	reader100 := e.issue("88.100", credential.RoleRead, time.Time{})

	for _, tt := range []struct {
		tok, prefix, code string
	}{
		{writer1, "88.100", "PermissionDenied"},
		{writer1, "", "PermissionDenied"},
		{reader100, "88.200", "PermissionDenied"},
		{"", "88.100", "Unauthenticated"},
		{reader100, "88..1", "InvalidArgument"},
	} {
		st, err := e.reg.Watch(e.ctx(tt.tok), &idresv1.WatchRequest{Prefix: tt.prefix})
		if err == nil {
			_, err = st.Recv()
		}
		if rcode(err) != tt.code {
			t.Errorf("watch %q: %s (%v), want %s", tt.prefix, rcode(err), err, tt.code)
		}
	}

	// From a revision: the backlog, then live changes, only in the subtree.
	st, err := e.reg.Watch(e.ctx(reader100), &idresv1.WatchRequest{Prefix: "88.100", FromRevision: &rev})
	e.must(err)
	first, err := st.Recv()
	e.must(err)
	if len(first.GetChanges()) != 0 || first.GetStartRevision() != rev+2 || first.GetLastSequence() != 1 {
		// rev+2: issuing the two credentials were writes, without changes.
		t.Errorf("first response = %v, want no changes, start revision %d, sequence 1", first, rev+2)
	}
	e.ident("88.200/elsewhere")
	e.ident("88.100.1/Child")
	e.ident("88.100/after")
	_, err = e.reg.DeletePrefix(e.ctx(e.root), &idresv1.DeletePrefixRequest{Prefix: "88.100.1", Force: true})
	e.must(err)
	got := changeNames(recvChanges(t, st, 3))
	if want := "created 88.100.1/Child;created 88.100/after;deleted 88.100.1/Child;"; got != want {
		t.Errorf("changes:\n got %s\nwant %s", got, want)
	}

	// A registrar of the child sees only the child.
	st1, err := e.reg.Watch(e.ctx(writer1), &idresv1.WatchRequest{Prefix: "88.100.1", FromRevision: &rev})
	e.must(err)
	if got, want := changeNames(recvChanges(t, st1, 2)), "created 88.100.1/Child;deleted 88.100.1/Child;"; got != want {
		t.Errorf("child's changes:\n got %s\nwant %s", got, want)
	}

	// Changes elsewhere advance a caught-up reader's position without
	// showing it anything, so it would resume from there.
	quiet, err := e.reg.Watch(e.ctx(writer1), &idresv1.WatchRequest{Prefix: "88.100.1"})
	e.must(err)
	first, err = quiet.Recv()
	e.must(err)
	e.ident("88.200/more")
	progress, err := quiet.Recv()
	e.must(err)
	if len(progress.GetChanges()) != 0 || progress.GetLastSequence() != first.GetLastSequence()+1 {
		t.Errorf("after a change outside the subtree: %v, want no changes and last_sequence %d", progress, first.GetLastSequence()+1)
	}

	// A watch sends nothing once its credential is revoked or expired.
	expiring := e.issue("88.100", credential.RoleRead, e.clk.Now().Add(time.Hour))
	for _, tt := range []struct {
		name  string
		tok   string
		after func()
	}{
		{"revoked", reader100, func() {
			_, err := e.reg.RevokeCredential(e.ctx(e.root), &idresv1.RevokeCredentialRequest{Id: strings.Split(reader100, ".")[0]})
			e.must(err)
		}},
		{"expired", expiring, func() { e.clk.Advance(2 * time.Hour) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := e.reg.Watch(e.ctx(tt.tok), &idresv1.WatchRequest{Prefix: "88.100"})
			e.must(err)
			_, err = st.Recv()
			e.must(err)
			tt.after()
			e.ident("88.100/after-" + tt.name)
			resp, err := st.Recv()
			if rcode(err) != "Unauthenticated" {
				t.Errorf("watch after its credential was %s: %v, %v; want Unauthenticated", tt.name, resp, err)
			}
		})
	}
}
