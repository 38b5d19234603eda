package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/registry/ident"
)

// DefaultSortWindow holds about 0.5 GiB of typical items in memory.
const DefaultSortWindow = 1000000

// DefaultPerMessage is how many items go in one gRPC message when
// ImportOptions.PerMessage is 0: large enough that framing costs little,
// small enough to stay far below the message size limit.
const DefaultPerMessage = 500

// ImportOptions drive ImportFrom.
type ImportOptions struct {
	// Replace creates or replaces (idempotent); false fails identifiers
	// that exist with AlreadyExists.
	Replace bool
	// Batch is how many items the node commits in one transaction
	// (1 to 100000; 0 leaves the node's default).
	Batch int
	// PerMessage is how many items go in one gRPC message (0:
	// DefaultPerMessage).
	PerMessage int
	// SortWindow, when > 1, reads this many items at a time and sends
	// them sorted by lookup key (see NewSortedReader); 0 or 1 sends in
	// file order.
	SortWindow int
	// Progress, when set, is called after each acknowledged batch with
	// the running totals.
	Progress func(ImportTotals)
	// Failed, when set, is called for each failed item: lines the file
	// reader rejects (code InvalidArgument, never sent) and items the node
	// refuses, in the order they are found.
	Failed func(*idresv1.ImportError)
}

// ImportTotals are the running counts of an import.
type ImportTotals struct {
	// Read counts items read from the file, failed lines included.
	Read, Created, Replaced, Failed uint64
	// Batches counts the node's acknowledgements.
	Batches uint64
}

// Done is how many items have an outcome.
func (t ImportTotals) Done() uint64 { return t.Created + t.Replaced + t.Failed }

// ImportFrom streams every item of rd to the node's Import and waits for
// every acknowledgement: the bulk load of `idres import`, as fast from
// any Go program. Items that fail (a malformed line, an identifier the
// node refuses) do not stop it: they are counted in Failed and reported
// to o.Failed. It returns an error only when the import as a whole could
// not finish: the file could not be read, the stream broke, or the node
// acknowledged fewer items than were sent; the totals then say how far it
// got. Progress and Failed are called from one goroutine at a time.
func (c *Client) ImportFrom(ctx context.Context, rd bulkfile.Reader, o ImportOptions) (ImportTotals, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Import(ctx)
	if err != nil {
		return ImportTotals{}, err
	}
	mode := idresv1.ImportMode_IMPORT_MODE_CREATE
	if o.Replace {
		mode = idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE
	}
	if o.PerMessage <= 0 {
		o.PerMessage = DefaultPerMessage
	}
	if o.SortWindow > 1 {
		rd = NewSortedReader(rd, o.SortWindow)
	}
	var mu sync.Mutex // guards tot and the callbacks
	var tot ImportTotals
	// totals copies tot for a return: on an early one the sender may still
	// be counting.
	totals := func() ImportTotals { mu.Lock(); defer mu.Unlock(); return tot }
	report := func(ie *idresv1.ImportError) {
		if o.Failed != nil {
			o.Failed(ie)
		}
	}
	var sent atomic.Uint64
	sendErr := make(chan error, 1)
	// The sender runs apart from the receiver so that reading and sending
	// the next messages overlaps the node's commit of the previous batch.
	go func() {
		sendErr <- func() error {
			msg := &idresv1.ImportRequest{Options: &idresv1.ImportOptions{Mode: mode, BatchSize: uint32(o.Batch)}}
			flush := func() error {
				if len(msg.Items) == 0 && msg.Options == nil {
					return nil
				}
				if err := st.Send(msg); err != nil {
					return err
				}
				msg = &idresv1.ImportRequest{Items: make([]*idresv1.ImportItem, 0, o.PerMessage)}
				return nil
			}
			for {
				it, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var le *bulkfile.LineError
				if errors.As(err, &le) {
					mu.Lock()
					tot.Read++
					tot.Failed++
					report(&idresv1.ImportError{Sequence: uint64(le.Line), Identifier: le.Identifier, Code: "InvalidArgument", Message: le.Err.Error()})
					mu.Unlock()
					continue
				}
				if err != nil {
					return fmt.Errorf("read: %w", err)
				}
				mu.Lock()
				tot.Read++
				mu.Unlock()
				msg.Items = append(msg.Items, &idresv1.ImportItem{Sequence: uint64(it.Line), Identifier: it.Identifier, Values: it.Values})
				sent.Add(1)
				if len(msg.Items) >= o.PerMessage {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			if err := flush(); err != nil {
				return err
			}
			return st.CloseSend()
		}()
	}()
	var acked uint64
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A read error on our side is the better explanation.
			select {
			case serr := <-sendErr:
				if serr != nil && !errors.Is(serr, io.EOF) {
					return totals(), serr
				}
			default:
			}
			return totals(), err
		}
		acked += uint64(resp.GetItems())
		mu.Lock()
		tot.Batches++
		tot.Created += uint64(resp.GetCreated())
		tot.Replaced += uint64(resp.GetReplaced())
		tot.Failed += uint64(resp.GetFailed())
		for _, ie := range resp.GetErrors() {
			report(ie)
		}
		if o.Progress != nil {
			o.Progress(tot)
		}
		mu.Unlock()
	}
	if err := <-sendErr; err != nil && !errors.Is(err, io.EOF) {
		return totals(), err
	}
	if acked != sent.Load() {
		return totals(), fmt.Errorf("node acknowledged %d of %d items", acked, sent.Load())
	}
	return totals(), nil
}

// NewSortedReader reads window items of r at a time and hands them out
// sorted by lookup key (errors in place, in file order before the run's
// items); items with the same key keep their file order, so the last one
// wins a create-or-replace. A B+tree takes inserts of adjacent keys into
// the pages it has just written, so a sorted run commits several times
// faster than the same items in random order, where nearly every item
// dirties its own page. Items whose identifier does not parse sort first;
// the node rejects them. From a reader that can defer decoding (JSON
// lines) it keeps raw lines and decodes each as it is handed out, so
// decoding overlaps the node's work instead of all of it happening before
// the first item is sent.
func NewSortedReader(r bulkfile.Reader, window int) bulkfile.Reader {
	return &sortedReader{r: r, window: max(window, 1)}
}

type sortedReader struct {
	r      bulkfile.Reader
	window int
	run    []keyedItem
	errs   []error
	next   int
	err    error // what ended the underlying reader
}

type keyedItem struct {
	key  string
	n    int // read order, which equal keys keep
	it   *bulkfile.Item
	lazy *bulkfile.Pending
}

func (s *sortedReader) Next() (*bulkfile.Item, error) {
	for {
		if len(s.errs) > 0 {
			err := s.errs[0]
			s.errs = s.errs[1:]
			return nil, err
		}
		if s.next < len(s.run) {
			k := s.run[s.next]
			s.run[s.next] = keyedItem{}
			s.next++
			if k.lazy != nil {
				return k.lazy.Decode()
			}
			return k.it, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		s.fill()
	}
}

func sortKey(identifier string) string {
	if id, err := ident.Parse(identifier); err == nil {
		return id.Key()
	}
	return ""
}

func (s *sortedReader) fill() {
	if s.run == nil {
		// Whole: appending to a growing run of a million items copied it
		// over and over into fresh memory.
		s.run = make([]keyedItem, 0, s.window)
	}
	s.run, s.next = s.run[:0], 0
	dr, deferred := s.r.(bulkfile.DeferredReader)
	for len(s.run) < s.window {
		if deferred {
			p, err := dr.NextPending()
			if err != nil {
				s.err = err
				break
			}
			s.run = append(s.run, keyedItem{key: sortKey(p.Identifier), n: len(s.run), lazy: p})
			continue
		}
		it, err := s.r.Next()
		var le *bulkfile.LineError
		if errors.As(err, &le) {
			s.errs = append(s.errs, err)
			continue
		}
		if err != nil {
			s.err = err
			break
		}
		s.run = append(s.run, keyedItem{key: sortKey(it.Identifier), n: len(s.run), it: it})
	}
	// Not a stable sort, which was a third of the window's time: the read
	// order breaks ties instead.
	slices.SortFunc(s.run, func(a, b keyedItem) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.n, b.n)
	})
}
