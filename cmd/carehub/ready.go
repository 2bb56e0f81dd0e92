package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// readyAddrs is the content of --ready-file: where a started hub listens.
// Scripts and tests that start the hub on port 0 read it to learn the ports.
type readyAddrs struct {
	HTTP string `json:"http"`
	MLLP string `json:"mllp,omitempty"`
	NATS string `json:"nats"`
}

// writeReadyFile writes addrs to path under a temporary name first and
// renames it, so a reader polling for the file never sees half of it.
func writeReadyFile(path string, addrs readyAddrs) error {
	b, err := json.Marshal(addrs)
	if err != nil {
		return fmt.Errorf("encoding ready file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".carehub-ready-*")
	if err != nil {
		return fmt.Errorf("writing ready file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing ready file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing ready file: %w", err)
	}
	return nil
}
