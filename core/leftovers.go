package core

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// hostMounts returns the host paths of the mounts that the first
// `completed` child steps made in the host's mount namespace, newest
// first. Without a mount namespace the child's mounts are the host's
// (that is the talk's lesson), and crun, which made them, must unmount
// them when the container ends. With one they die with the namespace.
func hostMounts(p *plan.Plan, completed int) []string {
	if p.Has(spec.NamespaceMount) {
		return nil
	}
	root := "/"
	var mounts []string
	for _, s := range p.Steps[:min(completed, len(p.Steps))] {
		switch {
		case s.Chroot != nil:
			root = filepath.Join(root, s.Chroot.Path)
		case s.Mount != nil && createsMount(s.Mount):
			mounts = append(mounts, filepath.Join(root, s.Mount.Target))
		}
	}
	for i, j := 0, len(mounts)-1; i < j; i, j = i+1, j-1 {
		mounts[i], mounts[j] = mounts[j], mounts[i]
	}
	return mounts
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
