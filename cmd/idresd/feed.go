package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/registry/store"
)

// feedFlags are the change feed's retention (FEED-010).
func feedFlags(fs *flag.FlagSet, cfg *node.Config) {
	fs.IntVar(&cfg.FeedRetainChanges, "feed-retain", store.DefaultRetainChanges, "identifier changes the change feed (Registry.Watch) keeps at least")
	fs.DurationVar(&cfg.FeedRetainAge, "feed-retain-age", 0, "also drop changes older than this from the change feed, e.g. 168h (0: by count only)")
	fs.Func("invalidate-feed", "recursive node: follow the change feed of PREFIX@ADDR (an authoritative node) and drop cached answers as they change; repeatable", func(s string) error {
		sub, err := node.ParseFeedSubscription(s, "")
		if err != nil {
			return err
		}
		cfg.Recursive.Invalidate = append(cfg.Recursive.Invalidate, sub)
		return nil
	})
	fs.StringVar(&cfg.Recursive.InvalidateTokenFile, "invalidate-token-file", "", "file holding a credential with read on the --invalidate-feed prefixes")
}

// runReindex is `idresd reindex --data DIR`: offline, it rebuilds the
// value index Registry.Search reads from the identifiers, after checking
// it, and says whether the old one differed.
func runReindex(args []string) int {
	fs := flag.NewFlagSet("idresd reindex", flag.ContinueOnError)
	dir := fs.String("data", "idres-data", "data directory of the (stopped) node")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: idresd reindex --data DIR")
		return 2
	}
	s, err := store.Open(*dir, store.Options{LockTimeout: time.Second})
	if err != nil {
		fmt.Fprintf(os.Stderr, "idresd: %v\n", err)
		return 1
	}
	defer s.Close()
	checkErr := s.View(func(tx *store.Tx) error { return tx.CheckIndex() })
	n, err := s.Reindex()
	if err != nil {
		fmt.Fprintf(os.Stderr, "idresd: reindex %s: %v\n", s.Path(), err)
		return 1
	}
	if checkErr != nil {
		fmt.Printf("the value index differed from the identifiers: %v\n", checkErr)
	}
	fmt.Printf("reindexed %s: %d index entries\n", s.Path(), n)
	return 0
}
