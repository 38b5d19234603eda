package backupfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// TrailerSize is the length of the trailer that ends every backup file.
const TrailerSize = 72

// FormatVersion is the version of the backup file format this package
// writes and reads.
const FormatVersion = 1

// trailerMagic opens the trailer.
const trailerMagic = "IDRESBAK"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of a backup file, compared with errors.Is. Each error a restore
// or a verification returns wraps one of them and says more.
var (
	// ErrNotRegular: the file is a FIFO, device, socket or directory; a
	// backup is read from a regular file only.
	ErrNotRegular = errors.New("not a regular file")
	// ErrNoTrailer: the file is a whole bbolt snapshot with no trailer:
	// written before backups carried one, or with its trailer cut off.
	ErrNoTrailer = errors.New("no backup trailer")
	// ErrTruncated: the file ends before the length it records.
	ErrTruncated = errors.New("truncated")
	// ErrDamagedTrailer: the trailer's magic, checksum or fields are wrong.
	ErrDamagedTrailer = errors.New("backup trailer is damaged")
	// ErrAppended: bytes follow the trailer.
	ErrAppended = errors.New("bytes appended")
	// ErrFormatVersion: the trailer is of a format this idres does not read.
	ErrFormatVersion = errors.New("unsupported backup format")
	// ErrDigest: the snapshot's SHA-256 is not the one recorded (or given).
	ErrDigest = errors.New("SHA-256 mismatch")
	// ErrNotBackup: neither a trailer nor a bbolt file.
	ErrNotBackup = errors.New("not an idres backup")
	// ErrStructure: the snapshot is not a sound bbolt file (checked before
	// bbolt opens it).
	ErrStructure = errors.New("not a sound bbolt file")
)

// Trailer is what the trailer of a backup file records.
type Trailer struct {
	// SchemaVersion and Revision are those of the store in the snapshot,
	// as the node reported them; informational (restore reads both from
	// the snapshot itself).
	SchemaVersion uint32
	Revision      uint64
	// Length is the snapshot's length in bytes: the file's less the
	// trailer.
	Length uint64
	// SHA256 is the digest of the snapshot's bytes.
	SHA256 [32]byte
}

// AppendTrailer appends t, encoded, to b.
func AppendTrailer(b []byte, t Trailer) []byte {
	start := len(b)
	b = append(b, trailerMagic...)
	b = binary.BigEndian.AppendUint32(b, FormatVersion)
	b = binary.BigEndian.AppendUint32(b, t.SchemaVersion)
	b = binary.BigEndian.AppendUint64(b, t.Revision)
	b = binary.BigEndian.AppendUint64(b, t.Length)
	b = append(b, t.SHA256[:]...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	return binary.BigEndian.AppendUint32(b, 0)
}

// ParseTrailer decodes a trailer of TrailerSize bytes. Without the magic
// it returns ErrNoTrailer; with the magic but a wrong checksum or a
// reserved field set, ErrDamagedTrailer; of a later format version,
// ErrFormatVersion.
func ParseTrailer(b []byte) (Trailer, error) {
	var t Trailer
	if len(b) != TrailerSize {
		return t, fmt.Errorf("%w: %d bytes, want %d", ErrDamagedTrailer, len(b), TrailerSize)
	}
	if string(b[:8]) != trailerMagic {
		return t, ErrNoTrailer
	}
	if sum := crc32.Checksum(b[:64], castagnoli); binary.BigEndian.Uint32(b[64:]) != sum {
		return t, fmt.Errorf("%w: its checksum does not match", ErrDamagedTrailer)
	}
	if binary.BigEndian.Uint32(b[68:]) != 0 {
		return t, fmt.Errorf("%w: reserved bytes set", ErrDamagedTrailer)
	}
	if v := binary.BigEndian.Uint32(b[8:]); v != FormatVersion {
		return t, fmt.Errorf("%w: format version %d; this idres reads version %d", ErrFormatVersion, v, FormatVersion)
	}
	t.SchemaVersion = binary.BigEndian.Uint32(b[12:])
	t.Revision = binary.BigEndian.Uint64(b[16:])
	t.Length = binary.BigEndian.Uint64(b[24:])
	copy(t.SHA256[:], b[32:64])
	return t, nil
}

// layout is what the end of a backup file says about the file.
type layout struct {
	trailer    Trailer
	hasTrailer bool  // false: an old-format file, a whole bbolt snapshot
	snapshot   int64 // bytes of snapshot at the start of the file
}

// inspect reads the end (and, when it has no trailer, the start) of a file
// of size bytes and says where its snapshot ends, or why the file is not
// a backup. It reads a few kilobytes at most; the digest is checked apart.
func inspect(r io.ReaderAt, size int64) (layout, error) {
	if size == 0 {
		return layout{}, fmt.Errorf("%w: the file is empty", ErrTruncated)
	}
	if size >= TrailerSize {
		tail := make([]byte, TrailerSize)
		if _, err := r.ReadAt(tail, size-TrailerSize); err != nil {
			return layout{}, err
		}
		t, err := ParseTrailer(tail)
		switch {
		case err == nil:
			if t.Length != uint64(size-TrailerSize) {
				return layout{}, fmt.Errorf("%w: it records a snapshot of %d bytes, the file holds %d before it", ErrDamagedTrailer, t.Length, size-TrailerSize)
			}
			return layout{trailer: t, hasTrailer: true, snapshot: size - TrailerSize}, nil
		case !errors.Is(err, ErrNoTrailer):
			return layout{}, err
		}
	}
	// No trailer at the end: find out what the file is, to say so.
	if err := trailerElsewhere(r, size); err != nil {
		return layout{}, err
	}
	head := make([]byte, min(size, 4096))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return layout{}, err
	}
	m, err := parseBoltMeta(head, 0)
	if err != nil {
		return layout{}, fmt.Errorf("%w: no trailer at its end and no bbolt store at its start", ErrNotBackup)
	}
	if m.pgid > uint64(size) { // and pgid*pageSize might overflow
		return layout{}, fmt.Errorf("%w: the store's meta page records %d pages of %d bytes, the file holds %d and no trailer", ErrTruncated, m.pgid, m.pageSize, size)
	}
	switch whole := int64(m.pgid) * int64(m.pageSize); {
	case size < whole:
		return layout{}, fmt.Errorf("%w: the store's meta page records %d bytes, the file holds %d and no trailer", ErrTruncated, whole, size)
	case size == whole+TrailerSize:
		return layout{}, fmt.Errorf("%w: the %d bytes after the snapshot are not a trailer", ErrDamagedTrailer, TrailerSize)
	case size > whole && size < whole+TrailerSize:
		return layout{}, fmt.Errorf("%w inside its trailer: %d of its %d bytes are left", ErrTruncated, size-whole, TrailerSize)
	case size != whole:
		return layout{}, fmt.Errorf("%w: %d bytes after the snapshot, and no trailer", ErrNotBackup, size-whole)
	}
	return layout{snapshot: size}, nil
}

// trailerElsewhere looks for a trailer's magic near the end of a file that
// does not end with a trailer: one cut short means the file was truncated
// inside it, a whole one means bytes were appended after it.
func trailerElsewhere(r io.ReaderAt, size int64) error {
	const window = 64 << 10
	start := max(0, size-window-TrailerSize)
	buf := make([]byte, size-start)
	if _, err := r.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	for i := len(buf); ; {
		i = bytes.LastIndex(buf[:i], []byte(trailerMagic))
		if i < 0 {
			return nil
		}
		at := start + int64(i)
		if rest := buf[i:]; len(rest) < TrailerSize {
			return fmt.Errorf("%w inside its trailer: %d of its %d bytes are left", ErrTruncated, len(rest), TrailerSize)
		} else if t, err := ParseTrailer(rest[:TrailerSize]); err == nil && t.Length == uint64(at) {
			return fmt.Errorf("%w: %d bytes after the backup trailer", ErrAppended, size-at-TrailerSize)
		}
	}
}
