package store_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// TestConcurrentReadersAndWriter runs readers against one writer that keeps
// every record self-consistent (all values of an identifier carry the same
// generation number, and the prefix's identifier_count matches the records
// listed). A reader that saw a half-applied write would find a mix.
func TestConcurrentReadersAndWriter(t *testing.T) {
	s, _ := openStore(t, nil)
	mustCreatePrefix(t, s, "88")
	const ids, gens, readers = 8, 40, 4

	gen := func(g int) []*idresv1.Value {
		d := strconv.Itoa(g)
		return []*idresv1.Value{val(1, "URL", d), val(2, "batch", d), val(3, "manufacturer", d)}
	}
	for i := range ids {
		mustCreateID(t, s, fmt.Sprintf("88/id-%d", i), gen(0)...)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, readers+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for g := 1; g <= gens; g++ {
			err := s.Update(func(tx *store.Tx) error {
				for i := range ids {
					key := fmt.Sprintf("88/id-%d", i)
					if _, err := tx.UpdateIdentifier(key, func(r *idresv1.Identifier) error {
						r.Values = gen(g)
						return nil
					}); err != nil {
						return err
					}
				}
				// Create and delete an extra identifier on alternate
				// generations, so identifier_count moves too.
				extra := ident.MustParse("88/extra")
				if g%2 == 1 {
					return tx.CreateIdentifier(extra, &idresv1.Identifier{Values: gen(g)})
				}
				return tx.DeleteIdentifier(extra)
			})
			if err != nil {
				errs <- fmt.Errorf("writer, generation %d: %w", g, err)
				return
			}
		}
	}()

	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lastGen := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				err := s.View(func(tx *store.Tx) error {
					p, err := tx.Prefix("88")
					if err != nil {
						return err
					}
					recs, _, err := tx.ListIdentifiers("88", "", 100)
					if err != nil {
						return err
					}
					if uint64(len(recs)) != p.IdentifierCount {
						return fmt.Errorf("listed %d identifiers, identifier_count %d", len(recs), p.IdentifierCount)
					}
					txGen := -1
					for _, r := range recs {
						if r.Identifier == "88/extra" {
							continue
						}
						if len(r.Values) != 3 {
							return fmt.Errorf("%s has %d values", r.Identifier, len(r.Values))
						}
						for _, v := range r.Values {
							g, _ := strconv.Atoi(string(v.Data))
							if txGen == -1 {
								txGen = g
							}
							if g != txGen {
								return fmt.Errorf("%s value %d is generation %d, others %d: a torn write", r.Identifier, v.Index, g, txGen)
							}
						}
					}
					if txGen < lastGen {
						return fmt.Errorf("generation went back from %d to %d", lastGen, txGen)
					}
					lastGen = txGen
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if rev, _ := s.Revision(); rev < gens {
		t.Errorf("revision = %d after %d writes", rev, gens)
	}
}

// TestFailedUpdateLeavesNothing: when fn fails, nothing it did is kept, not
// even the revision bump.
func TestFailedUpdateLeavesNothing(t *testing.T) {
	s, _ := openStore(t, nil)
	mustCreatePrefix(t, s, "88")
	mustCreateID(t, s, "88/keep", val(1, "URL", "a"))
	rev0, _ := s.Revision()

	boom := errors.New("boom")
	err := s.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "86"}); err != nil {
			return err
		}
		if err := tx.CreateIdentifier(ident.MustParse("88/new"), &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", "b")}}); err != nil {
			return err
		}
		if err := tx.DeleteIdentifier(ident.MustParse("88/keep")); err != nil {
			return err
		}
		if err := tx.PutDelegation(&idresv1.Delegation{Prefix: "88.1", Grpc: []string{"x:1"}}); err != nil {
			return err
		}
		if err := tx.PutCredential(&credential.Credential{ID: "c1", Role: "admin"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: err = %v, want boom", err)
	}
	if rev, _ := s.Revision(); rev != rev0 {
		t.Errorf("revision = %d after a failed Update, want %d", rev, rev0)
	}
	err = s.View(func(tx *store.Tx) error {
		if tx.HasPrefix("86") {
			t.Error("prefix 86 survived the rollback")
		}
		if _, err := tx.Identifier("88/new"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("identifier 88/new survived the rollback: %v", err)
		}
		if _, err := tx.Identifier("88/keep"); err != nil {
			t.Errorf("deleted identifier not restored: %v", err)
		}
		if p, _ := tx.Prefix("88"); p.IdentifierCount != 1 {
			t.Errorf("identifier_count = %d after rollback, want 1", p.IdentifierCount)
		}
		if _, err := tx.Delegation("88.1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delegation survived the rollback: %v", err)
		}
		if _, err := tx.Credential("c1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("credential survived the rollback: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRevision: one bump per committed write transaction, however much it
// wrote; none for reads.
func TestRevision(t *testing.T) {
	s, _ := openStore(t, nil)
	rev := func() uint64 {
		t.Helper()
		r, err := s.Revision()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r0 := rev()
	steps := []struct {
		name string
		fn   func(*store.Tx) error
		bump uint64
	}{
		{"one write", func(tx *store.Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: "88"}) }, 1},
		{"many writes", func(tx *store.Tx) error {
			for i := range 10 {
				if err := tx.CreateIdentifier(ident.MustParse(fmt.Sprintf("88/%d", i)), &idresv1.Identifier{Values: []*idresv1.Value{val(1, "t", "x")}}); err != nil {
					return err
				}
			}
			return nil
		}, 1},
		{"empty write transaction", func(*store.Tx) error { return nil }, 1},
		{"failed write", func(tx *store.Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: "88"}) }, 0},
	}
	want := r0
	for _, st := range steps {
		s.Update(st.fn)
		want += st.bump
		if got := rev(); got != want {
			t.Errorf("after %s: revision %d, want %d", st.name, got, want)
		}
		// Inside a transaction, the revision is the committed count so far.
		s.View(func(tx *store.Tx) error {
			if tx.Revision() != want {
				t.Errorf("after %s: tx.Revision %d, want %d", st.name, tx.Revision(), want)
			}
			return nil
		})
	}
}
