package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
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

func runImport(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	format := fs.String("format", "", "file format: csv or jsonl (default: from the file name, else sniffed)")
	replace := fs.Bool("replace", false, "create-or-replace: replace identifiers that exist (idempotent); default fails them with AlreadyExists")
	batch := fs.Int("batch", 10000, "identifiers per transaction (1 to 100000)")
	quiet := fs.Bool("quiet", false, "no progress and no summary (errors are still printed)")
	every := fs.Duration("progress-every", 5*time.Second, "interval of the plain progress lines when stderr is not a terminal")
	window := fs.Int("sort-window", client.DefaultSortWindow, "send identifiers sorted by key in runs of this many (0: file order); sorted runs write several times faster")
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
	opts := client.ImportOptions{Replace: *replace, Batch: *batch, Failed: fail, SortWindow: *window}
	if prog != nil {
		opts.Progress = prog.update
	}
	start := time.Now()
	var tot client.ImportTotals
	code = e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		tot, err = c.ImportFrom(ctx, rd, opts)
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
	tot   client.ImportTotals
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

func (p *progress) update(t client.ImportTotals) {
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
