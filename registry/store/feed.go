package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store/kv"
)

// The change feed (bucket changes) holds one record per identifier change,
// keyed by its big-endian sequence (the bucket's sequence, from 1, dense:
// records are only ever removed from the oldest end). meta "feedfloor"
// holds the highest revision and sequence trimmed away (or, for a file
// upgraded from version 2, the revision the feed began at): a reader
// asking for anything at or below it has missed changes.

// DefaultRetainChanges is how many changes the feed keeps when
// Options.RetainChanges is 0.
const DefaultRetainChanges = 1_000_000

// minTrim is the least a write transaction may trim, so the feed shrinks
// back to its retention even after a transaction that added much.
const minTrim = 1024

// ErrFeedRange marks a feed position this node cannot serve: older than
// what it retains, or newer than anything it committed (a node restored
// from an older backup). The reader must resync.
var ErrFeedRange = errors.New("position outside the retained change feed")

var keyFeedFloor = []byte("feedfloor")

func changeKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// appendChange records one identifier change in this transaction.
func (tx *Tx) appendChange(kind idresv1.Change_Kind, identifier string) error {
	b := tx.tx.Bucket(bucketChanges)
	kv.SetFill(b, appendFill)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("change sequence: %w", err)
	}
	rec := &idresv1.Change{
		Sequence:   seq,
		Revision:   tx.Revision() + 1, // bumped when the transaction ends
		Kind:       kind,
		Identifier: identifier,
		Time:       timestamppb.New(tx.now),
	}
	tx.changes++
	return tx.put(bucketChanges, changeKey(seq), rec)
}

// FeedFloor is the highest revision and sequence no longer in the feed.
func (tx *Tx) FeedFloor() (revision, sequence uint64) {
	raw := tx.tx.Bucket(bucketMeta).Get(keyFeedFloor)
	if len(raw) != 16 {
		return 0, 0
	}
	return binary.BigEndian.Uint64(raw), binary.BigEndian.Uint64(raw[8:])
}

func (tx *Tx) setFeedFloor(revision, sequence uint64) error {
	raw := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, revision), sequence)
	return tx.tx.Bucket(bucketMeta).Put(keyFeedFloor, raw)
}

// LastSequence is the sequence of the newest change (0 before any).
func (tx *Tx) LastSequence() uint64 { return tx.tx.Bucket(bucketChanges).Sequence() }

// trimChanges removes the oldest changes beyond the retention: more than
// keep records, or older than maxAge (0: no age limit). It removes at most
// max(minTrim, 2*added) records, so a transaction's extra work is bounded
// by what it wrote; a later write finishes the job.
func (tx *Tx) trimChanges(keep int, maxAge time.Duration, added int) error {
	b := tx.tx.Bucket(bucketChanges)
	last := b.Sequence()
	budget := max(minTrim, 2*added)
	floorRev, floorSeq := tx.FeedFloor()
	trimmed := false
	c := b.Cursor()
	for k, v := c.First(); k != nil && budget > 0; k, v = c.First() {
		seq := binary.BigEndian.Uint64(k)
		if last-seq+1 <= uint64(keep) {
			if maxAge <= 0 {
				break
			}
			rec := &idresv1.Change{}
			if err := proto.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("decode change %d: %w", seq, err)
			}
			if !rec.Time.AsTime().Before(tx.now.Add(-maxAge)) {
				break
			}
		}
		rev, err := changeRevision(v)
		if err != nil {
			return fmt.Errorf("decode change %d: %w", seq, err)
		}
		if err := c.Delete(); err != nil {
			return fmt.Errorf("trim change %d: %w", seq, err)
		}
		floorRev, floorSeq = max(floorRev, rev), seq
		trimmed = true
		budget--
	}
	if !trimmed {
		return nil
	}
	return tx.setFeedFloor(floorRev, floorSeq)
}

func changeRevision(raw []byte) (uint64, error) {
	rec := &idresv1.Change{}
	if err := proto.Unmarshal(raw, rec); err != nil {
		return 0, err
	}
	return rec.Revision, nil
}

// FeedStart is the feed position (a sequence) from which a reader gets
// every change committed in revisions after fromRevision. ErrFeedRange
// when some of those changes are no longer retained, or fromRevision is
// newer than this node's revision.
func (tx *Tx) FeedStart(fromRevision uint64) (uint64, error) {
	floorRev, floorSeq := tx.FeedFloor()
	if cur := tx.Revision(); fromRevision > cur {
		return 0, fmt.Errorf("%w: revision %d is newer than this node's %d", ErrFeedRange, fromRevision, cur)
	}
	if fromRevision < floorRev {
		return 0, fmt.Errorf("%w: changes after revision %d are no longer retained (the feed starts after revision %d); resync", ErrFeedRange, fromRevision, floorRev)
	}
	last := tx.LastSequence()
	b := tx.tx.Bucket(bucketChanges)
	// Revisions grow with sequences: find the first retained change
	// committed after fromRevision.
	var ferr error
	n := int(last - floorSeq)
	i := sort.Search(n, func(i int) bool {
		raw := b.Get(changeKey(floorSeq + 1 + uint64(i)))
		rev, err := changeRevision(raw)
		if err != nil || raw == nil {
			ferr = fmt.Errorf("change %d unreadable or missing: %v", floorSeq+1+uint64(i), err)
			return true
		}
		return rev > fromRevision
	})
	if ferr != nil {
		return 0, ferr
	}
	return floorSeq + uint64(i), nil
}

// CheckFeedPosition reports ErrFeedRange when a reader that has seen every
// change up to sequence after cannot go on from there.
func (tx *Tx) CheckFeedPosition(after uint64) error {
	_, floorSeq := tx.FeedFloor()
	if after < floorSeq {
		return fmt.Errorf("%w: changes after sequence %d are no longer retained (the feed starts after sequence %d); resync", ErrFeedRange, after, floorSeq)
	}
	if last := tx.LastSequence(); after > last {
		return fmt.Errorf("%w: sequence %d is newer than this node's last change %d", ErrFeedRange, after, last)
	}
	return nil
}

// Changes returns up to limit changes with sequences greater than after,
// oldest first. ErrFeedRange when some of them are no longer retained.
func (tx *Tx) Changes(after uint64, limit int) ([]*idresv1.Change, error) {
	if err := tx.CheckFeedPosition(after); err != nil {
		return nil, err
	}
	var out []*idresv1.Change
	c := tx.tx.Bucket(bucketChanges).Cursor()
	for k, v := c.Seek(changeKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
		rec := &idresv1.Change{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return nil, fmt.Errorf("decode change %x: %w", k, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// ChangeNotify returns a channel closed when a write transaction that
// changed identifiers commits after this call, or when the store stops
// notifying (StopNotify, Close). Take it before reading the feed, so a
// commit between the read and the wait is not missed.
func (s *Store) ChangeNotify() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if s.notifyCh == nil {
		s.notifyCh = make(chan struct{})
		if s.notifyStopped {
			close(s.notifyCh)
		}
	}
	return s.notifyCh
}

// StopNotify wakes every waiter for good, so change-feed readers end (a
// node stopping closes its watch streams with it before draining calls).
func (s *Store) StopNotify() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if !s.notifyStopped && s.notifyCh != nil {
		close(s.notifyCh)
	}
	s.notifyStopped = true
	if s.notifyCh == nil {
		s.notifyCh = make(chan struct{})
		close(s.notifyCh)
	}
}

// Notifying reports whether ChangeNotify still signals commits.
func (s *Store) Notifying() bool {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return !s.notifyStopped
}

// signal wakes the waiters of the commit that just happened. It runs after
// bbolt's Update returned, i.e. after the commit: a woken reader's new
// read transaction sees the changes.
func (s *Store) signal() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if s.notifyStopped || s.notifyCh == nil {
		return
	}
	close(s.notifyCh)
	s.notifyCh = nil
}
