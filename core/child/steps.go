package child

import (
	"errors"
	"fmt"
	"os"
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

// RunSteps performs the steps in order. done is called after each step
// that succeeded. It stops at the first failure.
func RunSteps(sys Sys, steps []plan.Step, done func(step int, elapsed time.Duration)) error {
	for i, s := range steps {
		start := time.Now()
		if err := runStep(sys, s.Step); err != nil {
			return &StepError{Step: i + 1, Plugin: s.Plugin, What: plan.DescribeStep(s.Step), Err: err}
		}
		if done != nil {
			done(i+1, time.Since(start))
		}
	}
	return nil
}

func runStep(sys Sys, s spec.Step) error {
	switch {
	case s.Mount != nil:
		m := s.Mount
		flags, err := MountFlags(m.Flags)
		if err != nil {
			return err
		}
		if m.CreateTarget {
			if err := sys.MkdirAll(m.Target, 0o755); err != nil {
				return fmt.Errorf("create mount target: %w", err)
			}
		}
		source := m.Source
		if source == "" {
			// mount(8) shows an empty source as "none"; the kernel
			// ignores the source of a propagation change anyway.
			source = "none"
		}
		return sys.Mount(source, m.Target, m.FSType, flags, m.Data)
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
	}
	return errors.New("unknown step kind")
}

// Hint suggests what to do about a failed step, from the kernel's error.
func Hint(err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return "run crun as root"
	case errors.Is(err, unix.ENOENT):
		return "check that the path exists (inside the container's root, after a root switch)"
	case errors.Is(err, unix.ENODEV):
		return "the file system type is not supported by this kernel"
	}
	return ""
}
