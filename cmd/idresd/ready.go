package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// writeReadyFile writes {"grpc": "127.0.0.1:41234", ...} atomically, so a
// reader that sees the file sees all of it.
func writeReadyFile(path string, endpoints map[string]string) error {
	raw, err := json.Marshal(endpoints)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
