package registrar

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// watchBatch is how many feed records one read transaction takes: a
// reader far behind catches up in bounded steps, never holding one read
// transaction (and the file's old pages) for its whole backlog.
const watchBatch = 512

// Watch streams the change feed under the caller's prefix: first the
// backlog from the requested position, then each commit as it happens
// (FEED-007..FEED-012).
func (s *Service) Watch(req *idresv1.WatchRequest, stream grpc.ServerStreamingServer[idresv1.WatchResponse]) error {
	ctx := stream.Context()
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return err
	}
	scope := ident.Fold(req.GetPrefix())
	cred, err := credential.Authorize(ctx, scope, credential.RoleRead)
	if err != nil {
		return err
	}
	var pos, rev, end uint64
	err = s.store.View(func(tx *store.Tx) (err error) {
		rev, end = tx.Revision(), tx.LastSequence()
		switch {
		case req.GetAfterSequence() > 0:
			pos = req.GetAfterSequence()
			return tx.CheckFeedPosition(pos)
		case req.FromRevision != nil:
			pos, err = tx.FeedStart(req.GetFromRevision())
			return err
		default:
			pos = tx.LastSequence()
			return nil
		}
	})
	if err != nil {
		return err
	}
	if err := stream.Send(&idresv1.WatchResponse{LastSequence: pos, StartRevision: rev}); err != nil {
		return err
	}
	sent := pos // the last position the reader was told
	for {
		// Taken before the read: a commit after the read closes it.
		wake := s.store.ChangeNotify()
		var batch []*idresv1.Change
		err := s.store.View(func(tx *store.Tx) (err error) {
			if err := stillValid(tx, cred, s.store.Now()); err != nil {
				return err
			}
			batch, err = tx.Changes(pos, watchBatch)
			return err
		})
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			out := batch[:0]
			for _, c := range batch {
				if ident.Covers(scope, changePrefix(c.Identifier)) {
					out = append(out, c)
				}
			}
			pos = batch[len(batch)-1].Sequence
			if len(out) > 0 {
				if err := stream.Send(&idresv1.WatchResponse{Changes: out, LastSequence: pos}); err != nil {
					return err
				}
				sent = pos
			}
			continue
		}
		if pos > sent {
			// Caught up past changes outside the subtree: say so, once per
			// wake-up, so a reader of a quiet subtree on a busy node
			// resumes from here, not from a position since trimmed.
			if err := stream.Send(&idresv1.WatchResponse{LastSequence: pos}); err != nil {
				return err
			}
			sent = pos
		}
		if req.GetBacklogOnly() && pos >= end {
			return nil
		}
		if !s.store.Notifying() {
			return fmt.Errorf("%w: node is stopping; resume with after_sequence %d", fault.ErrUnavailable, pos)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// changePrefix is the folded prefix of a stored identifier's spelling.
func changePrefix(identifier string) string {
	p, _, _ := strings.Cut(identifier, "/")
	return ident.Fold(p)
}

// stillValid checks, in the transaction a long-lived call reads (Watch)
// or commits (Import) in, that the credential it started with is neither
// revoked nor expired since: a stream outlives the check the interceptor
// made when it opened. grpcserver.Authenticator re-checks every stream
// between messages; this makes the check exact for what the call does
// in tx.
func stillValid(tx *store.Tx, c *credential.Credential, now time.Time) error {
	cur, err := tx.Credential(c.ID)
	if err != nil || !cur.Revoked.IsZero() || !cur.Expires.IsZero() && !now.Before(cur.Expires) {
		return credential.ErrUnauthenticated
	}
	return nil
}
