package backup

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/idres/idres/registry/store"
)

// Restore replaces the store in dataDir with the snapshot file from. It
// refuses while a node holds the data directory, verifies the snapshot
// before touching anything, and moves the old file aside; it returns the
// old file's new path ("" when there was none) and what it verified.
func Restore(dataDir, from string, now time.Time) (aside string, info store.FileInfo, err error) {
	info, err = store.Verify(from)
	if err != nil {
		return "", info, fmt.Errorf("restore from %s: %w", from, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", info, fmt.Errorf("restore: %w", err)
	}
	target := filepath.Join(dataDir, store.FileName)
	staged := target + ".restore"
	if err := copyFile(from, staged); err != nil {
		return "", info, fmt.Errorf("restore: stage %s: %w", staged, err)
	}
	defer os.Remove(staged)
	if _, err := store.Verify(staged); err != nil {
		return "", info, fmt.Errorf("restore: staged copy: %w", err)
	}
	if _, err := os.Stat(target); err == nil {
		// The same flock bbolt takes, without opening the old file as a
		// store: restoring over a damaged file must work.
		lock, err := os.Open(target)
		if err != nil {
			return "", info, fmt.Errorf("restore: %w", err)
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			return "", info, fmt.Errorf("restore: %s: %w (stop the idresd using %s first)", target, store.ErrLocked, dataDir)
		}
		aside = fmt.Sprintf("%s.before-restore-%s", target, now.UTC().Format("20060102T150405Z"))
		if err := os.Link(target, aside); err != nil {
			return "", info, fmt.Errorf("restore: keep old store aside: %w", err)
		}
	}
	if err := os.Rename(staged, target); err != nil {
		return aside, info, fmt.Errorf("restore: put %s in place: %w", target, err)
	}
	if err := syncDir(dataDir); err != nil {
		return aside, info, fmt.Errorf("restore: %w", err)
	}
	return aside, info, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
