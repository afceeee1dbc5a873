package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-plugin"

	"github.com/crun-project/crun/core"
)

// checkPin verifies a pinned plugin's executable with go-plugin's
// SecureConfig. An unpinned plugin passes.
func checkPin(pins core.Pins, name, path string) error {
	want, ok := pins[name]
	if !ok {
		return nil
	}
	sum, _ := hex.DecodeString(want)
	okSum, err := (&plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}).Check(path)
	if err != nil {
		return fmt.Errorf("plugin %q: checksum %s: %w", name, path, err)
	}
	if !okSum {
		got, _ := fileSHA256(path)
		return fmt.Errorf("plugin %q at %s has sha256 %s, but it is pinned to %s: refusing to run it", name, path, got, want)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
