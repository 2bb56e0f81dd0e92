package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteReadyFileReplacesWholeFile: the file holds exactly the addresses
// of the latest write, and no temporary file is left beside it.
func TestWriteReadyFileReplacesWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ready.json")
	for _, want := range []readyAddrs{
		{HTTP: "127.0.0.1:40001", MLLP: "127.0.0.1:40002", NATS: "nats://127.0.0.1:40003"},
		{HTTP: "127.0.0.1:1", NATS: "nats://127.0.0.1:2"},
	} {
		if err := writeReadyFile(path, want); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var got readyAddrs
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("ready file is not JSON: %v", err)
		}
		if got != want {
			t.Errorf("ready file holds %+v, want %+v", got, want)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want only the ready file", entries, err)
	}
}
