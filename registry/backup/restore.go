package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/idres/idres/registry/backupfile"
	"github.com/idres/idres/registry/store"
)

// Restored is what a restore did.
type Restored struct {
	// Aside is where the replaced store file was kept ("" when there was
	// none).
	Aside string
	// Info is what the check of the restored store learned.
	Info store.FileInfo
	// Verified is what the file's trailer (or, for an old-format file,
	// its hashing) said.
	backupfile.Verified
}

// Restore replaces the store in dataDir with the backup file from, which
// must carry a trailer (RestoreWith takes old-format files). It returns
// the old store's new path ("" when there was none) and what it verified.
func Restore(dataDir, from string, now time.Time) (aside string, info store.FileInfo, err error) {
	r, err := RestoreWith(dataDir, from, now, backupfile.VerifyOptions{})
	return r.Aside, r.Info, err
}

// RestoreWith replaces the store in dataDir with the backup file from. In
// order, and touching nothing before the last step:
//
//  1. from must be a regular file (a FIFO, device or directory is refused
//     before it is opened);
//  2. its trailer is read, and its snapshot copied whole to a temporary
//     file in dataDir while hashed; length and SHA-256 must match the
//     trailer (and o.SHA256 when set); a file without a trailer is
//     refused unless o vouches for it;
//  3. the copy's bbolt structure is checked without bbolt (checkBolt), so
//     that opening it cannot fault, then bbolt opens it read-only and
//     runs its consistency check, and the idres schema is checked;
//  4. unless a node holds the store (ErrLocked), the old store file is
//     linked aside as idres.db.before-restore-TIME, the copy renamed over
//     it, and dataDir synced.
//
// Every error wraps one of this package's errors or store's, and begins
// "restore from FROM: ".
func RestoreWith(dataDir, from string, now time.Time, o backupfile.VerifyOptions) (r Restored, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("restore from %s: %w", from, err)
		}
	}()
	src, size, err := backupfile.OpenRegular(from)
	if err != nil {
		return r, err
	}
	defer src.Close()
	if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return r, err
		}
		defer func() {
			if err != nil {
				os.Remove(dataDir) // only if still empty
			}
		}()
	}
	target := filepath.Join(dataDir, store.FileName)
	staged, err := os.CreateTemp(dataDir, "."+store.FileName+".restore-*")
	if err != nil {
		return r, fmt.Errorf("stage a copy: %w", err)
	}
	defer func() {
		staged.Close()
		if err != nil {
			os.Remove(staged.Name())
		}
	}()
	if r.Verified, err = backupfile.VerifyStream(src, size, o, staged); err != nil {
		return r, err
	}
	if err := staged.Sync(); err != nil {
		return r, fmt.Errorf("stage a copy: %w", err)
	}
	if err := backupfile.CheckBolt(staged, int64(r.Verified.Trailer.Length)); err != nil {
		return r, err
	}
	if err := staged.Close(); err != nil {
		return r, fmt.Errorf("stage a copy: %w", err)
	}
	if r.Info, err = verifyStore(staged.Name()); err != nil {
		return r, err
	}
	if _, err := os.Stat(target); err == nil {
		// The same flock bbolt takes, without opening the old file as a
		// store: restoring over a damaged file must work.
		lock, err := os.Open(target)
		if err != nil {
			return r, err
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			return r, fmt.Errorf("%s: %w (stop the idresd using %s first)", target, store.ErrLocked, dataDir)
		}
		aside := fmt.Sprintf("%s.before-restore-%s", target, now.UTC().Format("20060102T150405Z"))
		if err := os.Link(target, aside); err != nil {
			return r, fmt.Errorf("keep the old store aside: %w", err)
		}
		r.Aside = aside
	}
	if err := os.Rename(staged.Name(), target); err != nil {
		return r, fmt.Errorf("put %s in place: %w", target, err)
	}
	if err := syncDir(dataDir); err != nil {
		return r, err
	}
	return r, nil
}

// verifyStore runs store.Verify (bbolt's Open, read-only, its Tx.Check and
// the schema check) on a copy checkBolt passed. Should bbolt still fault
// or panic in this goroutine, that is an error, not a crash.
func verifyStore(path string) (info store.FileInfo, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: bbolt failed reading it: %v", backupfile.ErrStructure, p)
		}
	}()
	return store.Verify(path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
