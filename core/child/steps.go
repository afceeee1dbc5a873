package child

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// StepError is a child step that failed: which one, for which plugin, and
// what the kernel said.
type StepError struct {
	Step   int // 1-based index in the plan's steps
	Plugin string
	What   string // the step, described
	Err    error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("plugin %q: step %d (%s): %v", e.Plugin, e.Step, e.What, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Done describes a step that succeeded.
type Done struct {
	Step    int // 1-based
	Elapsed time.Duration
	// Mounted is the path a mount step mounted on, as the child saw it
	// (Root and symlinks resolved); empty for other steps.
	Mounted string
}

// Hooks let the caller follow the steps.
type Hooks struct {
	// BeforeMount, when set, is called with the resolved target before
	// every mount that adds to the mount table; an error stops the run.
	// Without a mount namespace these mounts are the host's, and the
	// parent records them before they exist.
	BeforeMount func(step int, target string) error
	// BeforeCreate, when set, is called with the paths a mount step is
	// about to create in the host's tree (a target outside any root the
	// plan named), top-down, so that the parent can remove them when the
	// container ends: a mount point left behind is a leftover.
	BeforeCreate func(step int, paths []string) error
	// Done is called after each step that succeeded.
	Done func(Done)
}

// stepHooks are the Hooks bound to one step.
type stepHooks struct {
	beforeMount  func(target string) error
	beforeCreate func(paths []string) error
}

// RunSteps performs the steps in order. It stops at the first failure.
func RunSteps(sys Sys, steps []plan.Step, hooks Hooks) error {
	for i, s := range steps {
		start := time.Now()
		var sh stepHooks
		if hooks.BeforeMount != nil {
			sh.beforeMount = func(target string) error { return hooks.BeforeMount(i+1, target) }
		}
		if hooks.BeforeCreate != nil {
			sh.beforeCreate = func(paths []string) error { return hooks.BeforeCreate(i+1, paths) }
		}
		mounted, err := runStep(sys, s.Step, sh)
		if err != nil {
			return &StepError{Step: i + 1, Plugin: s.Plugin, What: plan.DescribeStep(s.Step), Err: err}
		}
		if hooks.Done != nil {
			hooks.Done(Done{Step: i + 1, Elapsed: time.Since(start), Mounted: mounted})
		}
	}
	return nil
}

func runStep(sys Sys, s spec.Step, sh stepHooks) (mounted string, err error) {
	if s.Mount != nil {
		return mount(sys, s.Mount, sh)
	}
	return "", runOther(sys, s)
}

func mount(sys Sys, m *spec.Mount, sh stepHooks) (string, error) {
	flags, err := MountFlags(m.Flags)
	if err != nil {
		return "", err
	}
	target := m.Target
	if m.Root != "" {
		if target, err = ResolveInRoot(m.Root, m.Target); err != nil {
			return "", err
		}
	}
	if m.CreateTarget {
		if m.Root == "" && sh.beforeCreate != nil {
			if missing := missingPaths(target); len(missing) > 0 {
				if err := sh.beforeCreate(missing); err != nil {
					return "", err
				}
			}
		}
		if err := createTarget(sys, m, target); err != nil {
			return "", fmt.Errorf("create mount target %s: %w", target, err)
		}
	}
	source := m.Source
	if source == "" {
		// mount(8) shows an empty source as "none"; the kernel ignores
		// the source of a propagation change anyway.
		source = "none"
	}
	if sh.beforeMount != nil && m.AddsMount() {
		if err := sh.beforeMount(target); err != nil {
			return "", err
		}
	}
	mountOn := target
	if m.Root != "" {
		pinned, release, err := sys.PinInRoot(m.Root, target)
		if err != nil {
			return "", fmt.Errorf("open the mount target %s in %s: %w", target, m.Root, err)
		}
		defer release()
		mountOn = pinned
	}
	if err := sys.Mount(source, mountOn, m.FSType, flags, m.Data); err != nil {
		return "", err
	}
	return target, nil
}

// missingPaths lists path and those of its parents that do not exist,
// top-down: what creating path will add.
func missingPaths(path string) []string {
	var missing []string
	for p := filepath.Clean(path); p != "/" && p != "."; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		missing = append([]string{p}, missing...)
	}
	return missing
}

// createTarget makes a missing mount target: a file for a bind mount of a
// file, a directory otherwise.
func createTarget(sys Sys, m *spec.Mount, target string) error {
	if _, err := os.Lstat(target); err == nil {
		return nil
	}
	if contains(m.Flags, "bind") {
		isDir, err := sys.IsDir(m.Source)
		if err != nil {
			return fmt.Errorf("bind source: %w", err)
		}
		if !isDir {
			if err := sys.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return sys.Touch(target)
		}
	}
	return sys.MkdirAll(target, 0o755)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runOther(sys Sys, s spec.Step) error {
	switch {
	case s.Sethostname != nil:
		return sys.Sethostname(s.Sethostname.Hostname)
	case s.Mkdir != nil:
		mode := os.FileMode(s.Mkdir.Mode)
		if mode == 0 {
			mode = 0o755
		}
		return sys.MkdirAll(s.Mkdir.Path, mode)
	case s.Symlink != nil:
		return sys.Symlink(s.Symlink.Target, s.Symlink.Link)
	case s.Chdir != nil:
		return sys.Chdir(s.Chdir.Path)
	case s.Chroot != nil:
		return sys.Chroot(s.Chroot.Path)
	case s.PivotRoot != nil:
		return sys.PivotRoot(s.PivotRoot.Path)
	case s.JoinCgroup != nil:
		return sys.JoinCgroup(s.JoinCgroup.Path)
	case s.CopyFile != nil:
		c := s.CopyFile
		target := c.Target
		if c.Root != "" {
			var err error
			if target, err = ResolveInRoot(c.Root, c.Target); err != nil {
				return err
			}
		}
		if err := sys.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return sys.CopyFile(c.Source, target, os.FileMode(c.Mode))
	}
	return errors.New("unknown step kind")
}

// Hint suggests what to do about a failed step, from the kernel's error.
func Hint(err error) string {
	switch {
	case (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) && os.Geteuid() != 0:
		return "run crun as root"
	case errors.Is(err, unix.ENOENT):
		return "check that the path exists (inside the container's root, after a root switch)"
	case errors.Is(err, unix.ENODEV):
		return "the file system type is not supported by this kernel"
	}
	return ""
}
