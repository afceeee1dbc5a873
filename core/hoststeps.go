package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// HostStepError is a host step that failed.
type HostStepError struct {
	Step   int // 1-based index in the plan's host steps
	Plugin string
	What   string
	Err    error
}

func (e *HostStepError) Error() string {
	msg := fmt.Sprintf("plugin %q: host step %d (%s): %v", e.Plugin, e.Step, e.What, e.Err)
	if (errors.Is(e.Err, unix.EACCES) || errors.Is(e.Err, unix.EPERM)) && os.Geteuid() != 0 {
		msg += ": run crun as root"
	}
	return msg
}

func (e *HostStepError) Unwrap() error { return e.Err }

// runHostSteps performs the plan's host steps at one point. At after-exit
// it carries on past failures (cleanup must do all it can) and returns
// them joined; elsewhere it stops at the first.
func (s *Session) runHostSteps(ctx context.Context, point spec.HookPoint, pid int, trace func(string, ...any)) error {
	var errs []error
	for i, h := range s.Plan.HostSteps {
		if h.Point != point {
			continue
		}
		if h.WritePid != nil && s.clonedInto != "" && h.WritePid.Path == filepath.Join(s.clonedInto, "cgroup.procs") {
			// The child was created in this cgroup (CLONE_INTO_CGROUP):
			// attaching it again would only cost a migration.
			trace("host step %d [%s] %s: skipped: the child was cloned into %s", i+1, point, h.Plugin, s.clonedInto)
			continue
		}
		start := time.Now()
		err := s.runHostStep(ctx, h, pid)
		if err != nil {
			err = &HostStepError{Step: i + 1, Plugin: h.Plugin, What: plan.DescribeHostStep(h.HostStep), Err: err}
			if point != spec.HookAfterExit {
				return err
			}
			errs = append(errs, err)
			continue
		}
		trace("host step %d [%s] %s: %s (%s)", i+1, point, h.Plugin, plan.DescribeHostStep(h.HostStep),
			time.Since(start).Round(time.Microsecond))
	}
	return errors.Join(errs...)
}

func (s *Session) runHostStep(ctx context.Context, h plan.HostStep, pid int) error {
	if h.Hook != nil {
		c, ok := s.conns[h.Plugin]
		if !ok {
			return fmt.Errorf("plugin is not running")
		}
		ctx, cancel := context.WithTimeout(ctx, s.hookTimeout)
		defer cancel()
		err := c.Planner.Hook(ctx, h.Plugin, spec.HookRequest{
			Point: h.Point, Name: h.Hook.Name, ContainerID: s.Plan.ContainerID,
			Pid: pid, Options: s.options[h.Plugin],
		})
		return hookTimedOut(ctx, err, s.hookTimeout)
	}
	return runHostAction(h, pid, s.reports)
}

// hookTimedOut words a hook call that ran out of time.
func hookTimedOut(ctx context.Context, err error, limit time.Duration) error {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the hook did not return within %v (--hook-timeout): %w", limit, err)
	}
	return err
}

// runHostAction performs a host step that needs no plugin; reports go to
// out.
func runHostAction(h plan.HostStep, pid int, out io.Writer) error {
	switch {
	case h.Mkdir != nil:
		mode := os.FileMode(h.Mkdir.Mode)
		if mode == 0 {
			mode = 0o755
		}
		return os.MkdirAll(h.Mkdir.Path, mode)
	case h.WriteFile != nil:
		if h.WriteFile.IfExists {
			if _, err := os.Stat(h.WriteFile.Path); errors.Is(err, os.ErrNotExist) {
				return nil
			}
		}
		return writeFile(h.WriteFile.Path, h.WriteFile.Content)
	case h.KillCgroup != nil:
		return killCgroup(h.KillCgroup.Path)
	case h.Report != nil:
		return report(out, h.Plugin, h.Report)
	case h.WritePid != nil:
		return writeFile(h.WritePid.Path, strconv.Itoa(pid))
	case h.RemoveDir != nil:
		return removeDir(h.RemoveDir.Path)
	case h.IDMap != nil:
		return writeIDMap(pid, h.IDMap)
	}
	return fmt.Errorf("unknown host step")
}

// writeFile writes like the shell's echo CONTENT > PATH, but in a single
// write(2): kernel interfaces such as cgroup files take one value per
// write.
func writeFile(path, content string) error {
	// Never through a symlink: these writes run as root.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(content)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// removeDir removes a directory that may already be gone. A cgroup
// directory can stay busy for a moment after its last process exits, so
// EBUSY is retried briefly.
func removeDir(path string) error {
	for i := 0; ; i++ {
		err := unix.Rmdir(path)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EBUSY) && i < 50:
			time.Sleep(10 * time.Millisecond)
		default:
			return fmt.Errorf("rmdir %s: %w", path, err)
		}
	}
}
