package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// streamFlags are resolve's bulk mode: `idres resolve --stream -f FILE`.
type streamFlags struct {
	on    *bool
	file  *string
	batch *int
}

func bindStreamFlags(fs *flag.FlagSet) *streamFlags {
	return &streamFlags{
		on:    fs.Bool("stream", false, "resolve many identifiers over one stream (with -f); prints JSON lines"),
		file:  fs.String("f", "", "with --stream: `file` of identifiers, one a line ('-' for stdin)"),
		batch: fs.Int("batch", 100, "with --stream: identifiers per message"),
	}
}

// streamLine is one JSON line of `resolve --stream`: the answer with the
// line of the input it answers.
var streamJSON = protojson.MarshalOptions{EmitDefaultValues: false}

// runResolveStream resolves every line of the file over one
// ResolveStream. Request ids are line numbers. Exit code: 0 when every
// answer is OK or REFERRAL, else the worst code of any answer.
func (e *env) runResolveStream(ctx context.Context, sf *streamFlags, types []string, indexes []uint32, recursive bool) int {
	if *sf.file == "" {
		return e.usageError("--stream needs -f FILE ('-' for stdin)")
	}
	if *sf.batch < 1 || *sf.batch > 1000 {
		return e.usageError("--batch must be 1 to 1000")
	}
	var in io.Reader = os.Stdin
	if *sf.file != "-" {
		f, err := os.Open(*sf.file)
		if err != nil {
			return e.usageError("%v", err)
		}
		defer f.Close()
		in = f
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		reqs := make(chan *idresv1.TaggedResolveRequest, 4*(*sf.batch))
		readErr := make(chan error, 1)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(reqs)
			s := bufio.NewScanner(in)
			s.Buffer(make([]byte, 0, 64<<10), 1<<20)
			line := uint64(0)
			for s.Scan() {
				line++
				id := strings.TrimSpace(s.Text())
				if id == "" || strings.HasPrefix(id, "#") {
					continue
				}
				r := &idresv1.TaggedResolveRequest{RequestId: line, Request: &idresv1.ResolveRequest{
					Identifier: id, Types: types, Indexes: indexes, Recursive: recursive}}
				select {
				case reqs <- r:
				case <-ctx.Done():
					return
				}
			}
			readErr <- s.Err()
		}()
		out := bufio.NewWriterSize(e.Stdout, 1<<16)
		code := exitOK
		err := resolveStream(ctx, c, *sf.batch, reqs, func(a *idresv1.TaggedResolveResponse) error {
			raw, err := streamJSON.Marshal(a)
			if err != nil {
				return err
			}
			out.Write(raw)
			out.WriteByte('\n')
			code = max(code, outcomeExit(a.GetResponse().GetOutcome()))
			return nil
		})
		out.Flush()
		if err != nil {
			return e.fail(err)
		}
		select {
		case err := <-readErr:
			if err != nil {
				fmt.Fprintf(e.Stderr, "idres: reading %s: %v\n", *sf.file, err)
				return exitUsage
			}
		default:
		}
		return code
	})
}

// resolveStream sends the requests from reqs over one ResolveStream, up to
// batch per message (fewer when reqs has nothing ready, so an interactive
// input is answered at once), and calls got for each answer in order. It
// returns when reqs is closed and every answer has arrived.
func resolveStream(ctx context.Context, c idresv1.ResolverClient, batch int, reqs <-chan *idresv1.TaggedResolveRequest, got func(*idresv1.TaggedResolveResponse) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.ResolveStream(ctx)
	if err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		sendErr <- func() error {
			for {
				r, ok := <-reqs
				if !ok {
					return st.CloseSend()
				}
				msg := &idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{r}}
			fill:
				for len(msg.Requests) < batch {
					select {
					case r, ok := <-reqs:
						if !ok {
							break fill
						}
						msg.Requests = append(msg.Requests, r)
					default:
						break fill
					}
				}
				if err := st.Send(msg); err != nil {
					return err
				}
			}
		}()
	}()
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		for _, a := range resp.GetResponses() {
			if err := got(a); err != nil {
				return err
			}
		}
	}
	if err := <-sendErr; err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
