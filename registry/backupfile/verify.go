package backupfile

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// VerifyOptions says what a backup file without a trailer needs, and what
// digest the caller expects.
type VerifyOptions struct {
	// SHA256, when set, is the snapshot's digest as `idres backup` printed
	// it: the file must match it. It also vouches for an old-format file
	// (one without a trailer, whose digest `idres backup` printed as the
	// file's).
	SHA256 []byte
	// Unverified accepts an old-format file with no digest to check it
	// against; its bbolt structure is still checked.
	Unverified bool
}

// Verified is what a verification learned of a backup file.
type Verified struct {
	// Trailer is the file's trailer; for an old-format file, Length and
	// SHA256 are those computed and the rest is zero.
	Trailer Trailer
	// HasTrailer is false for an old-format file.
	HasTrailer bool
}

// VerifyFile checks the backup file at path without restoring it: a
// regular file; its trailer; the length and SHA-256 of its snapshot,
// read whole; and the snapshot's bbolt structure (checked without
// opening it with bbolt). It never modifies the file.
func VerifyFile(path string, o VerifyOptions) (Verified, error) {
	f, size, err := OpenRegular(path)
	if err != nil {
		return Verified{}, err
	}
	defer f.Close()
	v, err := VerifyStream(f, size, o, io.Discard)
	if err != nil {
		return v, err
	}
	if _, err := checkBolt(f, int64(v.Trailer.Length)); err != nil {
		return v, err
	}
	return v, nil
}

// openRegular opens path for reading only if it is a regular file, and
// returns its size. A FIFO, device, socket or directory is refused before
// it is opened (opening a FIFO blocks, opening a device may act), and the
// opened file is checked again (it may have been swapped in between).
func OpenRegular(path string) (*os.File, int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%w: %s is %s", ErrNotRegular, path, describeMode(fi.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, 0, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%w: %s is %s", ErrNotRegular, path, describeMode(fi.Mode()))
		}
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.String() + ")"
}

// VerifyStream reads the backup f of size bytes: its layout, then its snapshot
// whole, copied to w while hashed, and checks length and digest. On error
// w holds a partial or damaged copy.
func VerifyStream(f io.ReaderAt, size int64, o VerifyOptions, w io.Writer) (Verified, error) {
	lay, err := inspect(f, size)
	if err != nil {
		return Verified{}, err
	}
	v := Verified{Trailer: lay.trailer, HasTrailer: lay.hasTrailer}
	switch {
	case !lay.hasTrailer && o.SHA256 == nil && !o.Unverified:
		return v, fmt.Errorf("%w: a whole bbolt snapshot, as backups were before they carried one, or one whose trailer was cut off; "+
			"pass --sha256 HEX (the sha256 `idres backup` printed when it was taken) or, to restore it with nothing to check it against, --unverified", ErrNoTrailer)
	case o.SHA256 != nil && len(o.SHA256) != sha256.Size:
		return v, fmt.Errorf("the expected SHA-256 has %d bytes, want %d", len(o.SHA256), sha256.Size)
	case lay.hasTrailer && o.SHA256 != nil && !bytes.Equal(o.SHA256, lay.trailer.SHA256[:]):
		return v, fmt.Errorf("%w: the trailer records %x, not the expected %x", ErrDigest, lay.trailer.SHA256, o.SHA256)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.NewSectionReader(f, 0, lay.snapshot))
	if err != nil {
		return v, err
	}
	if n != lay.snapshot {
		return v, fmt.Errorf("%w: read %d of %d bytes (the file shrank while read)", ErrTruncated, n, lay.snapshot)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	switch {
	case lay.hasTrailer && sum != lay.trailer.SHA256:
		return v, fmt.Errorf("%w: the snapshot hashes to %x, its trailer records %x: the file is damaged", ErrDigest, sum, lay.trailer.SHA256)
	case o.SHA256 != nil && !bytes.Equal(sum[:], o.SHA256):
		return v, fmt.Errorf("%w: the snapshot hashes to %x, not the expected %x", ErrDigest, sum, o.SHA256)
	}
	if !lay.hasTrailer {
		v.Trailer = Trailer{Length: uint64(lay.snapshot), SHA256: sum}
	}
	return v, nil
}
