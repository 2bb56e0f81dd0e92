package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const secretFile = "patient-key.secret"

// patientKeySecret returns the configured secret, or the one kept in the
// data dir, generating it on first start. Generated secrets suit development
// only: losing the data dir changes every patient key.
func patientKeySecret(configured, dataDir string) (secret []byte, generatedAt string, err error) {
	if configured != "" {
		return []byte(configured), "", nil
	}
	path := filepath.Join(dataDir, secretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), "", nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("reading %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("generating patient key secret: %w", err)
	}
	text := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
		return nil, "", fmt.Errorf("writing %s: %w", path, err)
	}
	return []byte(text), path, nil
}
