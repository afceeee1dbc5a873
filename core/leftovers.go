package core

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// reversed returns the mounts newest first, the order to undo them in.
func reversed(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[len(paths)-1-i] = p
	}
	return out
}

// createsMount tells a mount that adds to the tree from one that only
// changes an existing mount (a remount, or a propagation change).
func createsMount(m *spec.Mount) bool {
	for _, f := range m.Flags {
		switch f {
		case "remount", "private", "slave", "shared", "unbindable":
			return false
		}
	}
	return true
}

// unmountAll detaches the mounts, newest first. A mount that is already
// gone (the command unmounted it) is not an error.
func unmountAll(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
