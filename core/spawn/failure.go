package spawn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// Exit codes of a container that did not get to run its command, the
// convention users know from other runtimes.
const (
	ExitCrunFailed    = 125
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// Failure is what the child reported when it could not run the command:
// the step that failed (0 for the exec itself), in words, advice, and the
// exit code crun ends with. Its Error leaves the advice out.
type Failure struct {
	Step     int // 1-based index in the plan's steps; 0: not a step
	Plugin   string
	What     string // the step, described, or what else failed
	Err      error
	Hint     string // what the user can do about it
	ExitCode int
}

func (f *Failure) Error() string {
	msg := fmt.Sprintf("%s: %v", f.What, f.Err)
	if f.Step > 0 {
		msg = fmt.Sprintf("plugin %q: step %d (%s): %v", f.Plugin, f.Step, f.What, f.Err)
	}
	return msg
}

func (f *Failure) Unwrap() error { return f.Err }

// ErrNotFound: no executable file matches the command.
var ErrNotFound = errors.New("command not found")

// NotFoundHint is the advice for a command that is not found.
const NotFoundHint = "check the name, or give a path; --env PATH=... sets the container's PATH"

// execFailure gives the exit code and advice for a failed execve of a
// file that is there.
func execFailure(errno syscall.Errno) (int, string) {
	switch errno {
	case unix.ENOENT:
		// The file is there but its interpreter (#! line) or dynamic
		// loader is not.
		return ExitNotFound, "its interpreter (#! line) or dynamic loader is missing"
	case unix.ENOTDIR:
		return ExitNotFound, "a component of its path is not a directory"
	case unix.EAGAIN:
		// The reaping init's fork, refused by the pids cgroup.
		return ExitCannotExecute, "the container may not start another process: raise --pids-max"
	}
	return ExitCannotExecute, "is it an executable file (chmod +x) for this machine?"
}

// hint suggests what to do about a failed step, from the kernel's error.
func (p *Program) hint(errno syscall.Errno) string {
	switch errno {
	case unix.EPERM, unix.EACCES:
		if p.plan.Has(spec.NamespaceUser) {
			return "in its user namespace the container's root is an ordinary host user: every directory on the way " +
				"to the rootfs (and to what is bound into it) must let others through (chmod o+x), " +
				"a mount point crun makes in the rootfs needs a directory that user may write to (or make it first, with mkdir), " +
				"and what the host mounted read-only, nosuid, nodev or noexec stays so"
		}
		if os.Geteuid() != 0 {
			return "run crun as root"
		}
	case unix.ENOENT:
		return "check that the path exists (inside the container's root, after a root switch)"
	case unix.ENODEV:
		return "the file system type is not supported by this kernel"
	case unix.ELOOP:
		return "too many symbolic links on the way"
	case unix.EXDEV:
		return "the path leads out of the container's root"
	}
	return ""
}

// describe turns a failure record into the error crun reports.
func (p *Program) describe(rec record) *Failure {
	errno := syscall.Errno(rec.Errno)
	f := &Failure{ExitCode: ExitCrunFailed, Err: errno}
	if rec.Step == 0 || int(rec.Step) > len(p.steps) {
		switch stage(rec.Stage) {
		case stExec:
			i := int(rec.Arg)
			if i != execFromFD {
				i = min(i, len(p.candidates)-1)
			}
			f.What = "exec " + p.candidate(i)
			f.ExitCode, f.Hint = execFailure(errno)
		case stNotFound:
			f.What, f.Err = "exec "+p.plan.Command[0], ErrNotFound
			if !p.explicit {
				f.Err = fmt.Errorf("%w in the container's PATH=%s", ErrNotFound, EnvValue(p.plan.Env, "PATH"))
			}
			f.ExitCode, f.Hint = ExitNotFound, NotFoundHint
		case stFork:
			f.What = "crun's init: start the command"
			if errno == unix.EAGAIN {
				f.ExitCode, f.Hint = execFailure(errno)
			}
		case stTerminal:
			f.What = "crun: hand the terminal to the container"
		case stPdeathsig:
			f.What = "crun: prctl(PR_SET_PDEATHSIG)"
		case stNofile:
			f.What = "crun: set the container's RLIMIT_NOFILE"
		case stStdio:
			f.What = fmt.Sprintf("crun: set up the container's fd %d", rec.Arg)
		default:
			f.What, f.Err = "crun's child", fmt.Errorf("stage %d: %w", rec.Stage, errno)
		}
		return f
	}
	s := p.steps[rec.Step-1]
	ps := p.plan.Steps[rec.Step-1]
	f.Step, f.Plugin, f.What = int(rec.Step), ps.Plugin, plan.DescribeStep(ps.Step)
	f.Err, f.Hint = p.stepError(s, stage(rec.Stage), errno, int(rec.Arg)), p.hint(errno)
	return f
}

// stepError words the failed system call of a step.
func (p *Program) stepError(s step, st stage, errno syscall.Errno, arg int) error {
	target := str(s.path)
	if s.rel != nil {
		target = filepath.Join(str(s.root), str(s.rel))
	}
	switch st {
	case stOpenRoot:
		return &os.PathError{Op: "open the root", Path: str(s.root), Err: errno}
	case stPin:
		return fmt.Errorf("open the mount target %s in %s: %w", target, str(s.root), errno)
	case stCreate:
		op := [...]string{"mkdir", "create", "open"}[min(arg, 2)]
		if s.op != opMount {
			return &os.PathError{Op: op, Path: target, Err: errno}
		}
		return fmt.Errorf("create mount target: %w", &os.PathError{Op: op, Path: target, Err: errno})
	case stMountTarget:
		return fmt.Errorf("the mount target %s is missing (a plugin's Mount.CreateTarget makes it): %w", target, errno)
	case stMountSource:
		return fmt.Errorf("the bind mount's source %s is missing (the target %s is there): %w", str(s.source), target, errno)
	case stBindSource:
		return fmt.Errorf("create mount target %s: bind source: %w", target, &os.PathError{Op: "stat", Path: str(s.source), Err: errno})
	case stHostPath:
		return fmt.Errorf("find the path of the mount target %s, for crun to record: %w", target, errno)
	case stAnnounce:
		return fmt.Errorf("crun did not record the host path before it was made (is crun still running?): %w", errno)
	case stChdir:
		return fmt.Errorf("chdir %s: %w", target, errno)
	case stPivot:
		if errno == unix.EINVAL || errno == unix.EBUSY {
			return fmt.Errorf("pivot_root %s: %w (is it a mount point, and is / private?)", target, errno)
		}
		return fmt.Errorf("pivot_root %s: %w", target, errno)
	case stDetach:
		return fmt.Errorf("detach the old root: %w", errno)
	case stOpen:
		return &os.PathError{Op: "open", Path: target, Err: errno}
	case stWrite:
		return &os.PathError{Op: "write", Path: target, Err: errno}
	case stOpenSource:
		return &os.PathError{Op: "open", Path: str(s.source), Err: errno}
	case stOpenTarget:
		return &os.PathError{Op: "open", Path: target, Err: errno}
	case stCopy:
		return fmt.Errorf("copy %s to %s: %w", str(s.source), target, errno)
	case stChmod:
		return &os.PathError{Op: "chmod", Path: target, Err: errno}
	case stDevNull:
		return fmt.Errorf("a file is hidden under the container's /dev/null, and there is none: %w", errno)
	case stSetgroups:
		return fmt.Errorf("setgroups %v: %w", s.groups, errno)
	case stSetgid:
		return fmt.Errorf("setresgid %d: %w", s.gid, errno)
	case stKeepcaps:
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", errno)
	case stSetuid:
		return fmt.Errorf("setresuid %d: %w", s.uid, errno)
	case stCapBound:
		return fmt.Errorf("drop %s from the bounding set: %w", capNames(1<<arg), errno)
	case stCapset:
		return fmt.Errorf("capset: %w", errno)
	case stAmbient:
		if arg == 0 {
			return fmt.Errorf("clear the ambient set: %w", errno)
		}
		return fmt.Errorf("raise %s in the ambient set: %w", capNames(1<<arg), errno)
	}
	switch s.op {
	case opSeccomp:
		if errno == unix.EACCES {
			return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w (without no_new_privs, the filter must come before the capabilities are dropped)", errno)
		}
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	case opRlimit:
		return fmt.Errorf("setrlimit: %w", errno)
	case opNoNewPrivs:
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", errno)
	}
	switch s.op {
	case opSymlink:
		return &os.LinkError{Op: "symlink", Old: str(s.source), New: target, Err: errno}
	}
	return errno
}

func (p *Program) candidate(i int) string {
	if i == execFromFD {
		return p.plan.Command[0] + " (the program crun passed, by fd)"
	}
	return str(p.candidates[i])
}

// execFromFD, as a candidate's index, is Attr.Exec's file.
const execFromFD = 1<<31 - 1

// str returns NUL-terminated bytes as a string.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return string(b[:len(b)-1])
}
