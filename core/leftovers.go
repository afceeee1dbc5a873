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

// HostMount is a mount the child makes in the host's mount namespace (when
// there is no mount namespace, the child's mounts are the host's: the
// talk's lesson). crun records it before the child mounts, with how many
// mounts were stacked on the path then, so that undoing it removes
// exactly what the container added, whether or not the mount happened.
type HostMount struct {
	Path  string `json:"path"`
	Below int    `json:"below"`
}

// undoMounts unmounts the recorded mounts, newest first: at each path,
// whatever is stacked above the count found before the container.
func undoMounts(mounts []HostMount) error {
	var errs []error
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		for n := mountsAt(m.Path); n > m.Below; n-- {
			if err := unix.Unmount(m.Path, unix.MNT_DETACH); err != nil {
				if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
					errs = append(errs, fmt.Errorf("unmount %s: %w", m.Path, err))
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

// mountsAt counts the mounts on path in crun's mount namespace.
func mountsAt(path string) int {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountPath(f[4]) == path {
			n++
		}
	}
	return n
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+3 < len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// removeCreated removes the mount points the child made in the host's
// tree, deepest first. One that is not empty (something else wrote in it
// since) stays.
func removeCreated(paths []string) {
	for i := len(paths) - 1; i >= 0; i-- {
		_ = os.Remove(paths[i])
	}
}

// resolveExisting resolves the symlinks of the part of path that exists,
// keeping the rest as it is.
func resolveExisting(path string) string {
	rest := ""
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if p == "/" || p == "." {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
