package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// clock is a fake, settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// openStore opens a store in a fresh directory, closed at the end of the test.
func openStore(t testing.TB, c *clock) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	opts := store.Options{}
	if c != nil {
		opts.Now = c.Now
	}
	s, err := openBackend(t, dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func update(t testing.TB, s *store.Store, fn func(*store.Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s *store.Store, fn func(*store.Tx) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func mustCreatePrefix(t testing.TB, s *store.Store, prefix string) {
	t.Helper()
	update(t, s, func(tx *store.Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: prefix}) })
}

func val(index uint32, typ, data string) *idresv1.Value {
	return &idresv1.Value{Index: index, Type: typ, Data: []byte(data), Ttl: proto.Uint32(86400), PublicRead: proto.Bool(true)}
}

func mustCreateID(t testing.TB, s *store.Store, raw string, vals ...*idresv1.Value) {
	t.Helper()
	id := ident.MustParse(raw)
	update(t, s, func(tx *store.Tx) error { return tx.CreateIdentifier(id, &idresv1.Identifier{Values: vals}) })
}

func getPrefix(t testing.TB, s *store.Store, folded string) (*idresv1.Prefix, error) {
	t.Helper()
	var p *idresv1.Prefix
	err := s.View(func(tx *store.Tx) (err error) { p, err = tx.Prefix(folded); return err })
	return p, err
}

func getID(t testing.TB, s *store.Store, key string) (*idresv1.Identifier, error) {
	t.Helper()
	var rec *idresv1.Identifier
	err := s.View(func(tx *store.Tx) (err error) { rec, err = tx.Identifier(key); return err })
	return rec, err
}

func TestPrefixes(t *testing.T) {
	c := newClock()
	s, _ := openStore(t, c)

	// The root prefix "" is a prefix like any other (stored under ".").
	for _, p := range []string{"", "88", "88.100", "88.100.1", "86.A_b-c"} {
		mustCreatePrefix(t, s, p)
	}
	t.Run("create twice", func(t *testing.T) {
		for _, p := range []string{"", "88", "86.a_B-C"} {
			err := s.Update(func(tx *store.Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: p}) })
			if !errors.Is(err, store.ErrExists) {
				t.Errorf("CreatePrefix(%q) again: err = %v, want ErrExists", p, err)
			}
		}
	})
	t.Run("get", func(t *testing.T) {
		tests := []struct {
			folded   string
			want     string // registrant's spelling; "" with wantErr
			wantErr  error
			wantRoot bool
		}{
			{folded: "", want: "", wantRoot: true},
			{folded: "88", want: "88"},
			{folded: "88.100.1", want: "88.100.1"},
			{folded: "86.a_b-c", want: "86.A_b-c"},
			{folded: "88.100.2", wantErr: store.ErrNotFound},
			{folded: "8", wantErr: store.ErrNotFound},
		}
		for _, tt := range tests {
			p, err := getPrefix(t, s, tt.folded)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Prefix(%q): err = %v, want %v", tt.folded, err, tt.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Prefix(%q): %v", tt.folded, err)
			}
			if p.Prefix != tt.want {
				t.Errorf("Prefix(%q).Prefix = %q, want %q", tt.folded, p.Prefix, tt.want)
			}
			if !p.Created.AsTime().Equal(c.Now()) || !p.Updated.AsTime().Equal(c.Now()) {
				t.Errorf("Prefix(%q) times = %v/%v, want %v", tt.folded, p.Created.AsTime(), p.Updated.AsTime(), c.Now())
			}
			var has bool
			s.View(func(tx *store.Tx) error { has = tx.HasPrefix(tt.folded); return nil })
			if !has {
				t.Errorf("HasPrefix(%q) = false", tt.folded)
			}
		}
	})
	t.Run("list pages", func(t *testing.T) {
		want := []string{"", "86.A_b-c", "88", "88.100", "88.100.1"} // key order; root "." first
		for _, limit := range []int{1, 2, 3, 5, 10} {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				var batch []*idresv1.Prefix
				var more bool
				err := s.View(func(tx *store.Tx) (err error) { batch, more, err = tx.ListPrefixes(after, limit); return err })
				if err != nil {
					t.Fatal(err)
				}
				if len(batch) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(batch))
				}
				for _, p := range batch {
					got = append(got, p.Prefix)
				}
				if !more {
					break
				}
				after = store.PrefixKey(ident.Fold(batch[len(batch)-1].Prefix))
			}
			if !slices.Equal(got, want) {
				t.Errorf("limit %d: listed %q, want %q", limit, got, want)
			}
		}
	})
	t.Run("delete", func(t *testing.T) {
		for _, p := range []string{"", "88.100"} {
			var n uint64
			err := s.Update(func(tx *store.Tx) (err error) { n, err = tx.DeletePrefix(p, false); return err })
			if err != nil || n != 0 {
				t.Fatalf("DeletePrefix(%q) = %d, %v", p, n, err)
			}
			if _, err := getPrefix(t, s, p); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after delete, Prefix(%q): err = %v, want ErrNotFound", p, err)
			}
			err = s.Update(func(tx *store.Tx) (err error) { _, err = tx.DeletePrefix(p, false); return err })
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DeletePrefix(%q) again: err = %v, want ErrNotFound", p, err)
			}
		}
		// Deleting a parent leaves its children alone.
		for _, p := range []string{"88", "88.100.1"} {
			if _, err := getPrefix(t, s, p); err != nil {
				t.Errorf("Prefix(%q) after deleting others: %v", p, err)
			}
		}
	})
}

func TestDeletePrefixWithIdentifiers(t *testing.T) {
	s, _ := openStore(t, nil)
	for _, p := range []string{"88", "88.100", "88.1000"} {
		mustCreatePrefix(t, s, p)
	}
	mustCreateID(t, s, "88/x", val(1, "URL", "u"))
	mustCreateID(t, s, "88.100/A", val(1, "URL", "u"))
	mustCreateID(t, s, "88.100/b/c", val(1, "URL", "u"))
	mustCreateID(t, s, "88.1000/a", val(1, "URL", "u"))

	err := s.Update(func(tx *store.Tx) (err error) { _, err = tx.DeletePrefix("88.100", false); return err })
	if !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("DeletePrefix without force: err = %v, want ErrNotEmpty", err)
	}
	if _, err := getID(t, s, "88.100/a"); err != nil {
		t.Fatalf("refused delete removed an identifier: %v", err)
	}
	var n uint64
	update(t, s, func(tx *store.Tx) (err error) { n, err = tx.DeletePrefix("88.100", true); return err })
	if n != 2 {
		t.Errorf("forced DeletePrefix deleted %d identifiers, want 2", n)
	}
	for key, want := range map[string]error{
		"88.100/a": store.ErrNotFound, "88.100/b/c": store.ErrNotFound,
		"88/x": nil, "88.1000/a": nil, // neighbours whose keys share a byte prefix survive
	} {
		if _, err := getID(t, s, key); !errors.Is(err, want) {
			t.Errorf("Identifier(%q) after forced delete: err = %v, want %v", key, err, want)
		}
	}
	// Re-creating the prefix starts from zero identifiers.
	mustCreatePrefix(t, s, "88.100")
	p, _ := getPrefix(t, s, "88.100")
	if p.IdentifierCount != 0 {
		t.Errorf("recreated prefix count = %d, want 0", p.IdentifierCount)
	}
}

func TestDelegations(t *testing.T) {
	c := newClock()
	s, _ := openStore(t, c)
	created := c.Now()
	put := func(d *idresv1.Delegation) {
		t.Helper()
		update(t, s, func(tx *store.Tx) error { return tx.PutDelegation(d) })
	}
	put(&idresv1.Delegation{Prefix: "88", Grpc: []string{"a:1"}})
	put(&idresv1.Delegation{Prefix: "88.100", Grpc: []string{"b:1"}, Ttl: proto.Uint32(60)})
	put(&idresv1.Delegation{Prefix: "86", Dns: []string{"127.0.0.12"}})
	put(&idresv1.Delegation{Prefix: "880", Http: []string{"http://x"}})

	c.Advance(time.Hour)
	put(&idresv1.Delegation{Prefix: "88", Grpc: []string{"a:2", "a:3"}})
	var d *idresv1.Delegation
	view(t, s, func(tx *store.Tx) (err error) { d, err = tx.Delegation("88"); return err })
	if !slices.Equal(d.Grpc, []string{"a:2", "a:3"}) {
		t.Errorf("replaced delegation grpc = %q", d.Grpc)
	}
	if !d.Created.AsTime().Equal(created) || !d.Updated.AsTime().Equal(c.Now()) {
		t.Errorf("replaced delegation created/updated = %v/%v, want %v/%v", d.Created.AsTime(), d.Updated.AsTime(), created, c.Now())
	}

	tests := []struct {
		zone string
		want []string
	}{
		{"", []string{"86", "88", "88.100", "880"}},
		{"88", []string{"88", "88.100"}}, // not "880": zones cover by whole segments
		{"88.100", []string{"88.100"}},
		{"87", nil},
	}
	for _, tt := range tests {
		var got []*idresv1.Delegation
		view(t, s, func(tx *store.Tx) (err error) { got, err = tx.ListDelegations(tt.zone); return err })
		var names []string
		for _, d := range got {
			names = append(names, d.Prefix)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("ListDelegations(%q) = %q, want %q", tt.zone, names, tt.want)
		}
	}

	update(t, s, func(tx *store.Tx) error { return tx.DeleteDelegation("88.100") })
	err := s.View(func(tx *store.Tx) (err error) { _, err = tx.Delegation("88.100"); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delegation after delete: err = %v, want ErrNotFound", err)
	}
	err = s.Update(func(tx *store.Tx) error { return tx.DeleteDelegation("88.100") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteDelegation twice: err = %v, want ErrNotFound", err)
	}
}

func TestCredentials(t *testing.T) {
	s, _ := openStore(t, nil)
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	creds := []*credential.Credential{
		{ID: "bbbb", SecretHash: []byte{1, 2, 3}, Prefix: "88.100", Role: "write", Created: now, Expires: now.Add(time.Hour)},
		{ID: "aaaa", SecretHash: []byte{4, 5}, Prefix: "", Role: "admin", Created: now, Note: "first"},
	}
	for _, c := range creds {
		update(t, s, func(tx *store.Tx) error { return tx.PutCredential(c) })
	}
	var got *credential.Credential
	view(t, s, func(tx *store.Tx) (err error) { got, err = tx.Credential("bbbb"); return err })
	if got.Prefix != "88.100" || got.Role != "write" || string(got.SecretHash) != string([]byte{1, 2, 3}) ||
		!got.Expires.Equal(now.Add(time.Hour)) || !got.Revoked.IsZero() {
		t.Errorf("Credential(bbbb) = %+v", got)
	}
	revoked := *got
	revoked.Revoked = now
	update(t, s, func(tx *store.Tx) error { return tx.PutCredential(&revoked) })

	var all []*credential.Credential
	view(t, s, func(tx *store.Tx) (err error) { all, err = tx.ListCredentials(); return err })
	if len(all) != 2 || all[0].ID != "aaaa" || all[1].ID != "bbbb" || !all[1].Revoked.Equal(now) {
		t.Errorf("ListCredentials = %+v", all)
	}
	err := s.View(func(tx *store.Tx) (err error) { _, err = tx.Credential("cccc"); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Credential(missing): err = %v, want ErrNotFound", err)
	}
}

// TestReopen closes the store and opens the file again: everything written
// is still there.
func TestReopen(t *testing.T) {
	fileOnly(t)
	c := newClock()
	s, dir := openStore(t, c)
	mustCreatePrefix(t, s, "")
	mustCreatePrefix(t, s, "88.100")
	mustCreateID(t, s, "88.100/Part-1", val(1, "URL", "https://example.com/1"), val(2, "batch", "B7"))
	update(t, s, func(tx *store.Tx) error {
		return tx.PutDelegation(&idresv1.Delegation{Prefix: "86", Grpc: []string{"127.0.0.1:1"}})
	})
	update(t, s, func(tx *store.Tx) error {
		return tx.PutCredential(&credential.Credential{ID: "abcd", SecretHash: []byte{9}, Role: "admin"})
	})
	rev, _ := s.Revision()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2, err := store.Open(dir, store.Options{Now: c.Now})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if rev2, _ := s2.Revision(); rev2 != rev {
		t.Errorf("revision after reopen = %d, want %d", rev2, rev)
	}
	err = s2.View(func(tx *store.Tx) error {
		if _, err := tx.Prefix(""); err != nil {
			return err
		}
		p, err := tx.Prefix("88.100")
		if err != nil {
			return err
		}
		if p.IdentifierCount != 1 {
			t.Errorf("identifier_count after reopen = %d, want 1", p.IdentifierCount)
		}
		rec, err := tx.Identifier("88.100/part-1")
		if err != nil {
			return err
		}
		if rec.Identifier != "88.100/Part-1" || len(rec.Values) != 2 || string(rec.Values[0].Data) != "https://example.com/1" {
			t.Errorf("identifier after reopen = %v", rec)
		}
		if _, err := tx.Delegation("86"); err != nil {
			return err
		}
		_, err = tx.Credential("abcd")
		return err
	})
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}
