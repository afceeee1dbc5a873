package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RuntimeDir is a run's private directory for plugin sockets. Each holds
// an "owner" file with crun's pid, so that directories left by a crun
// that was killed (SIGKILL leaves no chance to clean up) are found and
// removed by the next crun.
type RuntimeDir struct {
	Path string
}

// RuntimeBase is where crun keeps its runtime files (plugin sockets,
// state, the plan cache): /run/crun-go for root, $XDG_RUNTIME_DIR/crun-go
// (or a per-user directory in /tmp) for others. Not /run/crun: that is
// the C crun's (Debian's crun package), which names its container
// directories freely there.
func RuntimeBase() string {
	if os.Geteuid() == 0 {
		return "/run/crun-go"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "crun-go")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("crun-go-%d", os.Geteuid()))
}

// NewRuntimeDir creates a private runtime directory for this process,
// sweeping stale ones first.
func NewRuntimeDir() (*RuntimeDir, error) {
	base := RuntimeBase()
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("create runtime directory %s: %w", base, err)
	}
	SweepRuntimeDirs(base)
	dir, err := os.MkdirTemp(base, "run-")
	if err != nil {
		return nil, fmt.Errorf("create runtime directory in %s: %w", base, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create runtime directory: %w", err)
	}
	return &RuntimeDir{Path: dir}, nil
}

// Remove deletes the directory and whatever a plugin left in it.
func (d *RuntimeDir) Remove() {
	if d != nil {
		os.RemoveAll(d.Path)
	}
}

// SweepRuntimeDirs removes runtime directories whose owner is gone.
func SweepRuntimeDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "run-") {
			continue
		}
		dir := filepath.Join(base, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue // being created right now, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}
