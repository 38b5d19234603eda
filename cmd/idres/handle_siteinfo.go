package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

func init() {
	handleSubcommands = append(handleSubcommands, subcommand{"siteinfo", "--server HOST:PORT [--udp] [--prefix PREFIX] [-o FILE]", handleSiteInfo})
}

// handleSiteInfo writes a site file: HS_SITE data, what hdllib reads as
// siteinfo.bin (hdl-resolve -c, idres resolve --handle --verify --site).
// Without --prefix it is the server's own site (OC_GET_SITEINFO); with
// --prefix, the first HS_SITE of the prefix handle 0.NA/PREFIX as the
// server publishes it: asked of the parent's node, the site (and its
// server key) the parent vouches for.
func handleSiteInfo(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	udp := fs.Bool("udp", false, "ask over UDP")
	prefix := fs.String("prefix", "", "write the HS_SITE that --server publishes for this `prefix` (0.NA/PREFIX; ask the parent's node) instead of --server's own site")
	out := fs.String("o", "-", "write the site file here (binary; stdout only when not a terminal)")
	addr, code, ok := e.binaryFileArgs(fs, args, synopsis, "siteinfo", *out == "-")
	if !ok {
		return code
	}
	c := e.handleClient(addr, *udp)
	defer c.Close()
	cctx, cancel := e.call(ctx)
	defer cancel()
	var raw []byte
	var site handlewire.SiteInfo
	source := "the site of " + addr
	if *prefix == "" {
		s, err := c.SiteInfo(cctx)
		if err != nil {
			return e.handleFail(addr, err)
		}
		site, raw = s, handlewire.AppendSiteInfo(nil, &s)
	} else {
		handle := ident.PrefixHandlePrefix + "/" + *prefix
		a, err := c.Resolve(cctx, handle, []string{"HS_SITE"}, nil)
		if err != nil {
			return e.handleFail(addr, err)
		}
		if a.RC != handlewire.RCSuccess {
			return e.fail(fmt.Errorf("%s at %s: %w", handle, addr, &handleclient.RCError{RC: a.RC, Message: a.Message}))
		}
		for _, v := range a.Values {
			if strings.EqualFold(string(v.Type), "HS_SITE") {
				if site, err = handlewire.DecodeSiteInfo(v.Data); err != nil {
					return e.fail(fmt.Errorf("%s at %s: HS_SITE %d: %w", handle, addr, v.Index, err))
				}
				raw = v.Data
				source = fmt.Sprintf("HS_SITE %d of %s at %s", v.Index, handle, addr)
				break
			}
		}
		if raw == nil {
			return e.fail(fmt.Errorf("%s at %s has no HS_SITE value: the prefix has no Handle address", handle, addr))
		}
	}
	w, closeOut, err := e.output(*out)
	if err != nil {
		return e.usageError("%v", err)
	}
	if _, err := w.Write(raw); err != nil {
		closeOut()
		return e.fail(fmt.Errorf("write %s: %w", *out, err))
	}
	if err := closeOut(); err != nil {
		return e.fail(fmt.Errorf("write %s: %w", *out, err))
	}
	keyInfo := "no server key (certified answers cannot be checked with this file)"
	if k := handleclient.SiteKey(&site); k != nil {
		keyInfo = describeKey(k)
	}
	fmt.Fprintf(e.Stderr, "idres handle siteinfo: %s: site serial %d, protocol %s, %s; %s\n", source, site.SerialNumber, site.Version, describeSite(&site), keyInfo)
	return exitOK
}
