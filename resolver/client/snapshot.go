package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// ErrIncompleteSnapshot reports a snapshot stream that ended before its
// trailer, or whose bytes do not match the trailer's size and SHA-256:
// what was written to w must be discarded.
var ErrIncompleteSnapshot = errors.New("incomplete snapshot")

// SnapshotTo copies the node's store to w (node administrator only) and
// checks what it wrote against the trailer the node sends last. It
// returns the trailer (revision, schema version, size, SHA-256) only when
// every byte arrived; otherwise w holds a partial copy that the caller
// must discard (write to a temporary file and rename it on success).
// Large stores take long: give ctx a deadline fit for the size, or none.
func (c *Client) SnapshotTo(ctx context.Context, w io.Writer) (*idresv1.SnapshotTrailer, error) {
	stream, err := c.Snapshot(ctx, &idresv1.SnapshotRequest{})
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	mw := io.MultiWriter(w, sum)
	var n uint64
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the stream ended without its trailer after %d bytes", ErrIncompleteSnapshot, n)
		}
		if err != nil {
			return nil, err
		}
		if t := chunk.GetTrailer(); t != nil {
			if t.Size != n || !bytes.Equal(t.Sha256, sum.Sum(nil)) {
				return nil, fmt.Errorf("%w: got %d bytes whose SHA-256 does not match the node's (%d bytes)", ErrIncompleteSnapshot, n, t.Size)
			}
			return t, nil
		}
		if _, err := mw.Write(chunk.Data); err != nil {
			return nil, fmt.Errorf("write snapshot: %w", err)
		}
		n += uint64(len(chunk.Data))
	}
}
