package main

import (
	"context"
	"crypto/dsa" //nolint:staticcheck // naming hdllib's DSA server keys
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"os"

	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

// handleVerify is `resolve --handle ... --verify [--site FILE]`: ask for
// a signed answer (the certify flag) and check its signature with the
// server key of a site.
type handleVerify struct {
	on   *bool
	site *string
}

func bindHandleVerifyFlags(fs *flag.FlagSet) handleVerify {
	return handleVerify{
		on: fs.Bool("verify", false, "with --handle: ask for a signed answer and check its signature with the server's key; "+
			"the key comes from --site, else from the server's own site information (trust on first use: it proves only that the answer comes from whoever holds the key the server names)"),
		site: fs.String("site", "", "with --handle --verify: the site `file` (HS_SITE data, hdllib's siteinfo.bin, e.g. from idres handle siteinfo --prefix) whose server key answers must be signed with"),
	}
}

// check refuses the flags out of place.
func (v handleVerify) check(e *env, handle bool) (int, bool) {
	if *v.site != "" && !*v.on {
		return e.usageError("--site goes with --verify"), false
	}
	if *v.on && !handle {
		return e.usageError("--verify checks the signature of a Handle answer: it goes with --handle"), false
	}
	return 0, true
}

// key is the server key answers from c must be signed with, and where it
// came from: --site, or (trust on first use) the server's own site.
func (v handleVerify) key(ctx context.Context, e *env, c *handleclient.Client) ([]byte, string, error) {
	if *v.site != "" {
		raw, err := os.ReadFile(*v.site)
		if err != nil {
			return nil, "", err
		}
		site, err := handlewire.DecodeSiteInfo(raw)
		if err != nil {
			return nil, "", fmt.Errorf("site file %s: %w", *v.site, err)
		}
		key := handleclient.SiteKey(&site)
		if key == nil {
			return nil, "", fmt.Errorf("site file %s names no server key", *v.site)
		}
		return key, "site file " + *v.site, nil
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	site, err := c.SiteInfo(cctx)
	if err != nil {
		return nil, "", err
	}
	key := handleclient.SiteKey(&site)
	if key == nil {
		return nil, "", fmt.Errorf("the site of %s names no server key: its answers cannot be verified", c.Addr)
	}
	return key, "the server's own site (trust on first use)", nil
}

// describeKey names a Handle public key for people: its kind, size and
// the SHA-256 of its encoding.
func describeKey(enc []byte) string {
	sum := sha256.Sum256(enc)
	fp := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	pub, err := handlewire.DecodePublicKey(enc)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit key %s", k.N.BitLen(), fp)
	case *dsa.PublicKey:
		return fmt.Sprintf("DSA %d-bit key %s", k.P.BitLen(), fp)
	}
	return fmt.Sprintf("unusable key %s (%v)", fp, err)
}

// verified checks a's signature with key (from names where the key came
// from) and returns the line that says so; on failure it reports the
// answer unverified and returns the exit code, printing none of it.
func (v handleVerify) verified(e *env, addr string, a *handleclient.Answer, key []byte, from string) (string, int, bool) {
	if err := a.Verify(key); err != nil {
		fmt.Fprintf(e.Stderr, "idres: the answer of %s is not verified (%v); it is not shown\n", addr, err)
		return "", exitServer, false
	}
	return fmt.Sprintf(";; signature verified: %s, from %s", describeKey(key), from), exitOK, true
}
