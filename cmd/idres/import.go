package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "import",
		Usage:   "FILE [--format csv|jsonl] [--replace] [--batch N] [--quiet]",
		Summary: "register identifiers in bulk from CSV or JSON lines ('-' for stdin)",
		Run:     runImport,
	})
}

// maxErrorLines bounds the per-item errors printed; the summary counts all.
const maxErrorLines = 1000

// importOptions drive importItems.
type importOptions struct {
	Replace bool
	Batch   int
	// PerMessage is how many items go in one gRPC message.
	PerMessage int
	// SortWindow, when > 1, reads this many items at a time and sends
	// them sorted by lookup key (see sortedReader).
	SortWindow int
	// Progress is called after each acknowledged batch (may be nil).
	Progress func(importTotals)
	// Failed is called for each failed item, in the order acks arrive.
	Failed func(*idresv1.ImportError)
}

// importTotals are the running counts of an import.
type importTotals struct {
	Read, Created, Replaced, Failed uint64
	Batches                         uint64
}

func (t importTotals) Done() uint64 { return t.Created + t.Replaced + t.Failed }

func runImport(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	format := fs.String("format", "", "file format: csv or jsonl (default: from the file name, else sniffed)")
	replace := fs.Bool("replace", false, "create-or-replace: replace identifiers that exist (idempotent); default fails them with AlreadyExists")
	batch := fs.Int("batch", 10000, "identifiers per transaction (1 to 100000)")
	quiet := fs.Bool("quiet", false, "no progress and no summary (errors are still printed)")
	every := fs.Duration("progress-every", 5*time.Second, "interval of the plain progress lines when stderr is not a terminal")
	window := fs.Int("sort-window", defaultSortWindow, "send identifiers sorted by key in runs of this many (0: file order); sorted runs write several times faster")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want one FILE ('-' for stdin), got %d arguments", len(pos))
	}
	if *batch < 1 || *batch > 100000 {
		return e.usageError("--batch must be 1 to 100000")
	}
	name := pos[0]
	var in io.Reader = os.Stdin
	var size int64
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return e.usageError("%v", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	f := bulkfile.Format(*format)
	if f == "" {
		f = bulkfile.FormatOf(name)
	}
	counted := &countingReader{r: in}
	rd, err := bulkfile.NewReader(counted, f)
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres import: %s: %v\n", name, err)
		return exitUsage
	}

	var prog *progress
	if !*quiet {
		prog = newProgress(e.Stderr, isTerminal(e.Stderr), *every, size, counted)
		defer prog.stop()
	}
	printed := 0
	fail := func(ie *idresv1.ImportError) {
		if printed < maxErrorLines {
			if prog != nil {
				prog.clear()
			}
			fmt.Fprintf(e.Stderr, "line %d: %s: %s: %s\n", ie.GetSequence(), ie.GetIdentifier(), ie.GetCode(), ie.GetMessage())
		} else if printed == maxErrorLines {
			fmt.Fprintf(e.Stderr, "idres import: more errors not shown; see the summary\n")
		}
		printed++
	}
	opts := importOptions{Replace: *replace, Batch: *batch, PerMessage: 500, Failed: fail, SortWindow: *window}
	if prog != nil {
		opts.Progress = prog.update
	}
	start := time.Now()
	var tot importTotals
	code = e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		tot, err = importItems(ctx, c, rd, opts)
		if err != nil {
			if prog != nil {
				prog.clear()
			}
			return e.fail(err)
		}
		return exitOK
	})
	if prog != nil {
		prog.stop()
	}
	if !*quiet {
		el := time.Since(start)
		fmt.Fprintf(e.Stderr, "imported %s: %d created, %d replaced, %d failed of %d read in %s (%s/s)\n",
			name, tot.Created, tot.Replaced, tot.Failed, tot.Read, el.Round(time.Millisecond), humanCount(float64(tot.Done())/el.Seconds()))
	}
	if code != exitOK {
		return code
	}
	if tot.Failed > 0 {
		return exitNegative
	}
	return exitOK
}

// importItems streams every item of rd to the node's Import and waits for
// all acknowledgements. Items the file reader rejects count as failed with
// code InvalidArgument and never reach the node.
func importItems(ctx context.Context, c idresv1.RegistryClient, rd bulkfile.Reader, o importOptions) (importTotals, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Import(ctx)
	if err != nil {
		return importTotals{}, err
	}
	mode := idresv1.ImportMode_IMPORT_MODE_CREATE
	if o.Replace {
		mode = idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE
	}
	if o.PerMessage <= 0 {
		o.PerMessage = 500
	}
	if o.SortWindow > 1 {
		rd = &sortedReader{r: rd, window: o.SortWindow}
	}
	var mu sync.Mutex // guards tot and the callbacks
	var tot importTotals
	report := func(ie *idresv1.ImportError) {
		if o.Failed != nil {
			o.Failed(ie)
		}
	}
	var sent atomic.Uint64
	sendErr := make(chan error, 1)
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
					return tot, serr
				}
			default:
			}
			return tot, err
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
		return tot, err
	}
	if acked != sent.Load() {
		return tot, fmt.Errorf("node acknowledged %d of %d items", acked, sent.Load())
	}
	return tot, nil
}

// countingReader counts bytes read, for progress against the file size.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// humanCount formats a rate like 152.3k.
func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// progress shows an import's progress: a bar redrawn in place on a
// terminal, or a plain line every interval otherwise. ETA comes from the
// bytes read against the file size (unknown for stdin).
type progress struct {
	w     io.Writer
	tty   bool
	size  int64
	read  *countingReader
	start time.Time

	mu    sync.Mutex
	tot   importTotals
	drawn bool
	done  chan struct{}
	once  sync.Once
}

func newProgress(w io.Writer, tty bool, every time.Duration, size int64, read *countingReader) *progress {
	p := &progress{w: w, tty: tty, size: size, read: read, start: time.Now(), done: make(chan struct{})}
	if tty {
		every = 200 * time.Millisecond
	}
	if every <= 0 {
		every = 5 * time.Second
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw()
			case <-p.done:
				return
			}
		}
	}()
	return p
}

func (p *progress) update(t importTotals) {
	p.mu.Lock()
	p.tot = t
	p.mu.Unlock()
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked()
}

func (p *progress) drawLocked() {
	el := time.Since(p.start).Seconds()
	done := p.tot.Done()
	rate := float64(done) / max(el, 1e-9)
	frac := -1.0
	if p.size > 0 {
		frac = min(float64(p.read.n.Load())/float64(p.size), 1)
	}
	eta := "?"
	if frac > 0.001 {
		eta = (time.Duration(el*(1-frac)/frac) * time.Second).Round(time.Second).String()
	}
	if !p.tty {
		pct := ""
		if frac >= 0 {
			pct = fmt.Sprintf(" %.0f%% of file read,", 100*frac)
		}
		fmt.Fprintf(p.w, "import:%s %d done (%d failed), %s/s, ETA %s\n", pct, done, p.tot.Failed, humanCount(rate), eta)
		return
	}
	bar := ""
	if frac >= 0 {
		const width = 30
		n := int(frac * width)
		bar = fmt.Sprintf("[%s%s] %3.0f%% ", strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac)
	}
	fmt.Fprintf(p.w, "\r%s%d done, %d failed, %s/s, ETA %s\033[K", bar, done, p.tot.Failed, humanCount(rate), eta)
	p.drawn = true
}

// clear removes the bar before other output on a terminal.
func (p *progress) clear() {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func (p *progress) stop() {
	p.once.Do(func() {
		close(p.done)
		p.clear()
	})
}

// defaultSortWindow holds about 0.5 GiB of typical items in memory.
const defaultSortWindow = 1000000

// sortedReader reads window items at a time and hands them out sorted by
// lookup key (errors in place, in file order before the run's items). A
// B+tree takes inserts of adjacent keys into the pages it has just
// written, so a sorted run commits several times faster than the same
// items in random order, where nearly every item dirties its own page.
// Items whose identifier does not parse sort first; the node rejects them.
// From a reader that can defer decoding (JSON lines) it keeps raw lines and
// decodes each as it is handed out, so decoding overlaps the node's work
// instead of all of it happening before the first item is sent.
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
