package store_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// crashEnv makes the test binary act as the writer process of TestCrash.
const crashEnv = "IDRES_STORE_CRASH_DIR"

// TestCrashWriter is the child of TestCrash: it opens the store, commits
// identifiers one by one, reports each commit on stdout, and never closes
// the store. It is skipped in a normal run.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child process of TestCrash")
	}
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := s.Update(func(tx *store.Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: "88"}) }); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		id := ident.MustParse(fmt.Sprintf("88/%06d", i))
		err := s.Update(func(tx *store.Tx) error {
			return tx.CreateIdentifier(id, &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", id.String())}})
		})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", i) // the acknowledgement
	}
}

// TestCrash kills a writer with SIGKILL in the middle of its writes: the
// next Open gets the lock (no stale lock survives the process), the file is
// sound, and every write the writer acknowledged is there (REG-006 as far as
// a process crash goes; power loss is bbolt's fsync).
func TestCrash(t *testing.T) {
	fileOnly(t)
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("writer: %s", line)
		}
		if n, ok := strings.CutPrefix(line, "committed "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 20 {
				break
			}
		}
	}
	// Kill the writer by its PID while it keeps writing.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill writer %d: %v", pid, err)
	}
	cmd.Wait()
	if acked < 20 {
		t.Fatalf("writer acknowledged only %d writes", acked+1)
	}

	s, err := store.Open(dir, store.Options{LockTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Open after the writer was killed: %v", err)
	}
	defer s.Close()
	err = s.DB().View(func(btx *bolt.Tx) error {
		for err := range btx.Check() {
			return fmt.Errorf("bbolt check after the crash: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *store.Tx) error {
		for i := 0; i <= acked; i++ {
			if _, err := tx.Identifier(fmt.Sprintf("88/%06d", i)); err != nil {
				return fmt.Errorf("acknowledged write %d lost: %w", i, err)
			}
		}
		p, err := tx.Prefix("88")
		if err != nil {
			return err
		}
		recs, _, err := tx.ListIdentifiers("88", "", 1000000)
		if err != nil {
			return err
		}
		if uint64(len(recs)) != p.IdentifierCount {
			return fmt.Errorf("identifier_count %d, but %d identifiers", p.IdentifierCount, len(recs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
