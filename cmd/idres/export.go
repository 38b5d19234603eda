package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "export",
		Usage:   "PREFIX... [-o FILE]",
		Summary: "write the identifiers under prefixes as JSON lines that import reads back",
		Run:     runExport,
	})
}

func runExport(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	outName := fs.String("o", "-", "output `file` ('-' for stdout)")
	zf := bindZonefileFlags(fs)
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if *zf.zone != "" {
		return runExportZonefile(e, zf, pos, *outName)
	}
	if len(pos) == 0 {
		return e.usageError("want at least one PREFIX")
	}
	var w io.Writer = e.Stdout
	var file *os.File
	if *outName != "-" {
		f, err := os.Create(*outName)
		if err != nil {
			return e.usageError("%v", err)
		}
		file, w = f, f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	code = e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		for _, p := range pos {
			if err := exportPrefix(ctx, e, c, p, bw); err != nil {
				return e.fail(err)
			}
		}
		return exitOK
	})
	if err := bw.Flush(); err != nil && code == exitOK {
		code = e.fail(fmt.Errorf("write %s: %w", *outName, err))
	}
	if file != nil {
		if err := file.Close(); err != nil && code == exitOK {
			code = e.fail(fmt.Errorf("write %s: %w", *outName, err))
		}
	}
	return code
}

// exportPrefix pages through ListIdentifiers, one --timeout per page.
func exportPrefix(ctx context.Context, e *env, c *client.Client, prefix string, w io.Writer) error {
	var buf []byte
	tok := ""
	for {
		cctx, cancel := e.call(ctx)
		resp, err := c.ListIdentifiers(cctx, &idresv1.ListIdentifiersRequest{Prefix: prefix, PageSize: 1000, PageToken: tok})
		cancel()
		if err != nil {
			return err
		}
		buf = buf[:0]
		for _, id := range resp.GetIdentifiers() {
			if buf, err = bulkfile.AppendJSONL(buf, id); err != nil {
				return err
			}
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			return nil
		}
	}
}
