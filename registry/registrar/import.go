package registrar

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/kv"
	"github.com/idres/idres/registry/template"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/grpcserver"
)

// Import batch sizes.
const (
	DefaultImportBatch = 10000
	MaxImportBatch     = 100000
)

// importBatch is what the reader hands the committer: the items that
// passed the checks, sorted by key, and those that did not.
type importBatch struct {
	n      uint64
	items  []store.BulkItem
	plan   *store.IndexPlan // index entries and encodings of items, planned by the reader
	at     time.Time        // the batch's time: when the reader completed it
	failed []*idresv1.ImportError
	total  int
}

// Import implements idres.v1.Registry. The calling goroutine reads and
// checks items while a second one commits the previous batch, so parsing
// overlaps the fsync; at most one batch waits for the committer, so a
// client faster than the disk is slowed by flow control.
func (s *Service) Import(stream idresv1.Registry_ImportServer) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	// Any credential may open an import: each item is authorised on its
	// own prefix as it is read (parseAndAuthorize, RoleWrite).
	if _, err := credential.Caller(ctx); err != nil {
		return err
	}
	batches := make(chan *importBatch, 1)
	commitErr := make(chan error, 1)
	var replace bool
	go func() {
		for b := range batches {
			if err := s.commitImport(ctx, stream, b, replace); err != nil {
				cancel(err)
				commitErr <- err
				for range batches {
				}
				return
			}
		}
		commitErr <- nil
	}()
	err := s.readImport(ctx, stream, batches, &replace)
	close(batches)
	cerr := <-commitErr
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	return nil
}

// readImport receives items into batches. replace is set from the first
// message before any batch is handed over.
func (s *Service) readImport(ctx context.Context, stream idresv1.Registry_ImportServer, batches chan<- *importBatch, replace *bool) error {
	size := DefaultImportBatch
	var pos uint64
	var b *importBatch
	var nb uint64
	hand := func() error {
		b.items = sortedByKey(b.items)
		b.plan = store.PlanIndex(b.items)
		b.at = s.store.Now().UTC()
		if err := b.plan.Encode(b.items, b.at); err != nil {
			return err
		}
		select {
		case batches <- b:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		b = nil
		return nil
	}
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if o := msg.GetOptions(); o != nil {
			if !first {
				return fmt.Errorf("%w: options may come only in the first message", fault.ErrInvalidArgument)
			}
			switch o.GetMode() {
			case idresv1.ImportMode_IMPORT_MODE_UNSPECIFIED, idresv1.ImportMode_IMPORT_MODE_CREATE:
			case idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE:
				*replace = true
			default:
				return fmt.Errorf("%w: unknown import mode %d", fault.ErrInvalidArgument, o.GetMode())
			}
			if n := o.GetBatchSize(); n > MaxImportBatch {
				return fmt.Errorf("%w: batch_size %d is more than %d", fault.ErrInvalidArgument, n, MaxImportBatch)
			} else if n > 0 {
				size = int(n)
			}
		}
		for _, it := range msg.GetItems() {
			pos++
			if b == nil {
				nb++
				b = &importBatch{n: nb}
			}
			seq := it.GetSequence()
			if seq == 0 {
				seq = pos
			}
			b.total++
			if bi, err := s.checkImportItem(ctx, it); err != nil {
				b.failed = append(b.failed, importError(ctx, seq, it.GetIdentifier(), err))
			} else {
				bi.Tag = seq
				b.items = append(b.items, bi)
			}
			if b.total == size {
				if err := hand(); err != nil {
					return err
				}
			}
		}
	}
	if b != nil {
		return hand()
	}
	return nil
}

// sortedByKey orders items by lookup key, keeping the order of equal
// keys. Each key is computed once: as the sort's comparison (folding and
// normalising both sides each time) it was most of the reader's work.
func sortedByKey(items []store.BulkItem) []store.BulkItem {
	keys := make([]string, len(items))
	order := make([]int, len(items))
	for i := range items {
		keys[i], order[i] = items[i].ID.Key(), i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(keys[x], keys[y]) })
	out := make([]store.BulkItem, len(items))
	for i, j := range order {
		out[i] = items[j]
	}
	return out
}

// checkImportItem applies CreateIdentifier's checks to one item.
func (s *Service) checkImportItem(ctx context.Context, it *idresv1.ImportItem) (store.BulkItem, error) {
	id, err := s.parseAndAuthorize(ctx, it.GetIdentifier(), credential.RoleWrite)
	if err != nil {
		return store.BulkItem{}, err
	}
	if err := value.CheckSet(it.GetValues(), false); err != nil {
		return store.BulkItem{}, err
	}
	if err := s.checkLimits(it.GetValues()); err != nil {
		return store.BulkItem{}, err
	}
	// The message is ours alone: its values can be stored as they are.
	rec := &idresv1.Identifier{Values: it.GetValues()}
	value.Normalize(rec.Values)
	return store.BulkItem{ID: id, Rec: rec}, nil
}

// commitImport writes one batch in one transaction and acknowledges it.
// Template checks run inside the transaction (as for CreateIdentifier), and
// each stored item gets its audit record in the same transaction.
func (s *Service) commitImport(ctx context.Context, stream idresv1.Registry_ImportServer, b *importBatch, replace bool) error {
	if len(b.items) > 0 {
		if err := s.putBatch(ctx, b.items, b.plan, b.at, replace); err != nil {
			return fmt.Errorf("import batch %d: %w", b.n, err)
		}
	}
	resp := &idresv1.ImportResponse{Batch: b.n, Items: uint32(b.total), Errors: b.failed}
	for _, it := range b.items {
		switch {
		case it.Err != nil:
			resp.Errors = append(resp.Errors, importError(ctx, it.Tag, it.ID.String(), it.Err))
		case it.Replaced:
			resp.Replaced++
		default:
			resp.Created++
		}
	}
	resp.Failed = uint32(len(resp.Errors))
	slices.SortFunc(resp.Errors, func(x, y *idresv1.ImportError) int { return cmp.Compare(x.Sequence, y.Sequence) })
	if resp.Created+resp.Replaced > 0 {
		s.changed(ctx, "Import", fmt.Sprintf("batch %d: %d created, %d replaced", b.n, resp.Created, resp.Replaced))
	}
	return stream.Send(resp)
}

// importError reports one refused item in-band, with the status code the
// same error would get as a whole call (the one mapping, grpcserver.Status).
func importError(ctx context.Context, seq uint64, id string, err error) *idresv1.ImportError {
	st, _ := status.FromError(grpcserver.Status(ctx, err))
	return &idresv1.ImportError{Sequence: seq, Identifier: id, Code: st.Code().String(), Message: st.Message()}
}

// putBatch stores items in one transaction of time at, with template
// checks and one audit record per stored item in that transaction.
// plan, when not nil, is store.PlanIndex of items, encoded at at.
func (s *Service) putBatch(ctx context.Context, items []store.BulkItem, plan *store.IndexPlan, at time.Time, replace bool) error {
	err := s.store.UpdateAt(at, func(tx *store.Tx) error {
		checkers := map[string]*template.Checker{}
		for i := range items {
			it := &items[i]
			it.Err = nil
			pk := it.ID.PrefixKey()
			c, seen := checkers[pk]
			if !seen {
				t, err := applicableTemplate(tx, pk)
				if err != nil {
					return err
				}
				if t != nil {
					if c, err = template.Compile(t); err != nil {
						return fmt.Errorf("stored template of %q: %w", t.Prefix, err)
					}
				}
				checkers[pk] = c
			}
			if c != nil {
				it.Err = c.Check(it.Rec.Values)
			}
		}
		// The audit record of each item, as appendAudit writes it, with
		// digests of the encodings just stored rather than encoding
		// every record a second time.
		rec := &idresv1.AuditRecord{Time: timestamppb.New(tx.Now()), Call: "Import"}
		if c := credential.FromContext(ctx); c != nil {
			// In the transaction that writes: no batch commits after the
			// credential's revocation, however long the stream has run
			// (the Authenticator ends the stream at its next message).
			if err := stillValid(tx, c, tx.Now()); err != nil {
				return err
			}
			rec.CredentialId = c.ID
		}
		return tx.PutIdentifiersPlanned(items, plan, replace, func(it *store.BulkItem, oldRaw, newRaw []byte) error {
			rec.Target, rec.Prefix = it.ID.String(), it.ID.PrefixKey()
			rec.BeforeSha256 = nil
			if oldRaw != nil {
				sum := sha256.Sum256(oldRaw)
				rec.BeforeSha256 = sum[:]
			}
			sum := sha256.Sum256(newRaw)
			rec.AfterSha256 = sum[:]
			return tx.AppendAudit(rec)
		})
	})
	if errors.Is(err, kv.ErrTxnTooLarge) && len(items) > 1 {
		// A store with a bound on one transaction (etcd's --max-txn-ops):
		// commit the batch in halves. The batch is acknowledged once all
		// of them are committed.
		half := len(items) / 2
		if err := s.putBatch(ctx, items[:half], nil, at, replace); err != nil {
			return err
		}
		return s.putBatch(ctx, items[half:], nil, at, replace)
	}
	return err
}
