package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/httpgw"
)

func init() {
	register(&command{
		Name:    "qr",
		Usage:   "ID [--out FILE.png] [--base URL] [--size PX] [--level L|M|Q|H]",
		Summary: "render a QR code of an identifier's landing-page URL, for printed labels",
		Run:     runQR,
	})
}

// qrQuietZone is the light border around a code, in modules (ISO/IEC
// 18004 asks for 4); scanners fail without it.
const qrQuietZone = 4

func runQR(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	out := fs.String("out", "", "write the code as a PNG to this file (default: draw it on the terminal)")
	base := fs.String("base", "", "base URL of the HTTP gateway, e.g. https://id.example.org (default: $IDRES_HTTP, else the IDRES_HTTP value of 0.NA/<prefix> asked of --server)")
	size := fs.Int("size", 512, "PNG width and height in pixels, at least one pixel per module")
	level := fs.String("level", "M", "error correction: L (7%), M (15%), Q (25%) or H (30%) of the code may be damaged")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one identifier")
	}
	id, err := ident.Parse(pos[0])
	if err != nil {
		return e.usageError("%v", err)
	}
	lvl, ok := map[string]qr.ErrorCorrectionLevel{"L": qr.L, "M": qr.M, "Q": qr.Q, "H": qr.H}[strings.ToUpper(*level)]
	if !ok {
		return e.usageError("--level %q: want L, M, Q or H", *level)
	}
	b := *base
	if b == "" {
		b = e.Getenv("IDRES_HTTP")
	}
	if b == "" {
		var code int
		if b, code = e.discoverHTTP(ctx, id); b == "" {
			return code
		}
	}
	if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return e.usageError("base URL %q: want an absolute http or https URL", b)
	}
	link := httpgw.PageURL(b, id.String())
	bc, err := qr.Encode(link, lvl, qr.Auto)
	if err != nil {
		return e.fail(fmt.Errorf("encode QR code of %s: %w", link, err))
	}
	if *out == "" {
		drawQR(e.Stdout, bc)
		fmt.Fprintln(e.Stdout, link)
		return exitOK
	}
	img, err := qrImage(bc, *size)
	if err != nil {
		return e.usageError("%v", err)
	}
	if err := writePNG(*out, img); err != nil {
		return e.fail(err)
	}
	if e.JSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]string{"identifier": id.String(), "url": link, "file": *out})
		return exitOK
	}
	fmt.Fprintf(e.Stdout, "%s\t%s\n", *out, link)
	return exitOK
}

// discoverHTTP asks --server for the gateway of id's prefix: the first
// IDRES_HTTP value of 0.NA/<prefix>, resolved recursively. On failure it
// reports and returns "" with the exit code.
func (e *env) discoverHTTP(ctx context.Context, id ident.ID) (string, int) {
	var base string
	code := e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		handle := ident.PrefixHandlePrefix + "/" + id.Prefix
		resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: handle, Types: []string{resolver.TypeHTTP}, Recursive: true})
		if err != nil {
			return e.fail(err)
		}
		if resp.Outcome != idresv1.Outcome_OUTCOME_OK || len(resp.Values) == 0 {
			fmt.Fprintf(e.Stderr, "idres qr: no HTTP gateway is advertised for prefix %s (%s has no %s value: %s); pass --base URL\n",
				id.Prefix, handle, resolver.TypeHTTP, strings.TrimPrefix(resp.Outcome.String(), "OUTCOME_"))
			return exitNegative
		}
		base = string(resp.Values[0].Data)
		return exitOK
	})
	return base, code
}

// qrImage draws the code with its quiet zone, black on white, each module
// a whole number of pixels so that no module is blurred.
func qrImage(bc barcode.Barcode, size int) (image.Image, error) {
	n := bc.Bounds().Dx()
	total := n + 2*qrQuietZone
	scale := size / total
	if scale < 1 {
		return nil, fmt.Errorf("--size %d is too small: the code needs at least %d pixels", size, total)
	}
	img := image.NewPaletted(image.Rect(0, 0, total*scale, total*scale), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if !qrDark(bc, x, y) {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex((x+qrQuietZone)*scale+dx, (y+qrQuietZone)*scale+dy, 1)
				}
			}
		}
	}
	return img, nil
}

func qrDark(bc barcode.Barcode, x, y int) bool {
	r, _, _, _ := bc.At(bc.Bounds().Min.X+x, bc.Bounds().Min.Y+y).RGBA()
	return r < 0x8000
}

// drawQR prints the code with half blocks, two modules per character
// cell, light modules drawn (as qrencode -t UTF8 does) so that it scans
// off a terminal with a dark background.
func drawQR(w io.Writer, bc barcode.Barcode) {
	n := bc.Bounds().Dx()
	light := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return true // quiet zone
		}
		return !qrDark(bc, x, y)
	}
	var sb strings.Builder
	for y := -qrQuietZone; y < n+qrQuietZone; y += 2 {
		for x := -qrQuietZone; x < n+qrQuietZone; x++ {
			top, bottom := light(x, y), light(x, y+1)
			switch {
			case top && bottom:
				sb.WriteString("█")
			case top:
				sb.WriteString("▀")
			case bottom:
				sb.WriteString("▄")
			default:
				sb.WriteString(" ")
			}
		}
		sb.WriteByte('\n')
	}
	io.WriteString(w, sb.String())
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write QR code: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write QR code %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write QR code %s: %w", path, err)
	}
	return nil
}
