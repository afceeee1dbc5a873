package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// PrivateDir makes (if needed) a directory only the user can use, and
// refuses one that someone else could have planted or can write: crun
// acts on what it finds there (state files replay cleanup steps, cache
// entries are plans), and for a user other than root the base is in /tmp.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return checkPrivate(dir)
}

// checkPrivate is PrivateDir for a directory that must exist already.
func checkPrivate(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("refusing to use %s: not a directory (a symlink?); remove it", dir)
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("refusing to use %s: it belongs to uid %d, not you; remove it", dir, st.Uid)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("refusing to use %s: others can use it (mode %04o); remove it or chmod 700 it", dir, fi.Mode().Perm())
	}
	return nil
}

// NewRuntimeDir creates a private runtime directory for this process,
// sweeping stale ones first.
func NewRuntimeDir() (*RuntimeDir, error) {
	base := RuntimeBase()
	if err := PrivateDir(base); err != nil {
		return nil, fmt.Errorf("runtime directory: %w", err)
	}
	SweepRuntimeDirs(base)
	// The owner's pid is in the name itself: a crun killed right after
	// the mkdir leaves a directory the sweep knows the owner of.
	dir, err := os.MkdirTemp(base, fmt.Sprintf("run-%d-", os.Getpid()))
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

// SweepRuntimeDirs removes runtime directories whose owner is gone: the
// pid in their owner file is no process, or (a crun killed between
// making the directory and writing the file) the file is missing or
// unreadable and the directory older than ownerlessGrace.
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
		if pid, ok := ownerInName(e.Name()); ok {
			if !processAlive(pid) {
				os.RemoveAll(dir)
			}
			continue
		}
		// A directory of an older crun: "run-" and random characters.
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		pid, convErr := strconv.Atoi(strings.TrimSpace(string(b)))
		switch {
		case err == nil && convErr == nil && pid > 0:
			if !processAlive(pid) {
				os.RemoveAll(dir)
			}
		case ownerless(dir):
			os.RemoveAll(dir)
		}
	}
}

// processAlive tells whether pid is a live process. A zombie is not: a
// plugin host killed with its crun stays one until the init it was
// reparented to reaps it, which may take a while.
func processAlive(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE ...: comm may hold spaces and parentheses.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		state := b[i+2]
		return state != 'Z' && state != 'X'
	}
	return true
}

// ownerInName reads the owner's pid in a runtime directory's name,
// "run-PID-RANDOM".
func ownerInName(name string) (int, bool) {
	fields := strings.Split(name, "-")
	if len(fields) != 3 {
		return 0, false
	}
	pid, err := strconv.Atoi(fields[1])
	return pid, err == nil && pid > 0
}

// ownerlessGrace is how long a runtime directory may stay without a
// readable owner file: a crun writes it right after making the
// directory, so one still without it after this was killed in between.
const ownerlessGrace = time.Minute

// ownerless tells whether dir has been without an owner for too long.
func ownerless(dir string) bool {
	fi, err := os.Lstat(dir)
	return err == nil && time.Since(fi.ModTime()) > ownerlessGrace
}
