package spawn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/child"
	"github.com/crun-project/crun/core/plan"
)

// ExitCrunFailed is the child's exit status when it fails before the
// exec (the parent reports the failure; the status is not seen).
const ExitCrunFailed = child.ExitCrunFailed

// Attr says how to start the child.
type Attr struct {
	// Stdio are the command's standard streams; nil is /dev/null.
	Stdio [3]*os.File
	// Terminal, when >= 0, is the terminal whose foreground process group
	// the child's own group becomes (as a shell does for a job).
	Terminal int
	// CgroupFD, when >= 0, is a cgroup v2 directory to clone the child
	// into (clone3 with CLONE_INTO_CGROUP).
	CgroupFD int
	// Wait makes the child wait for Release before its steps: the parent
	// has host steps to do first (cgroup attach, id maps, hooks).
	Wait bool
	// Trace makes the child time every step, for Follow's callbacks.
	Trace bool
}

// Child is a started child. The caller waits for it (wait4) and signals
// it by Pid.
type Child struct {
	Pid     int
	prog    *Program
	reports *os.File
	release *os.File // nil unless Attr.Wait
}

// Start forks the child. On success it is running the program, or
// waiting for Release.
func (p *Program) Start(a Attr) (*Child, error) {
	var reports, release [2]int
	if err := unix.Pipe2(reports[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	childEnds := []int{reports[1]}
	release = [2]int{-1, -1}
	if a.Wait {
		if err := unix.Pipe2(release[:], unix.O_CLOEXEC); err != nil {
			unix.Close(reports[0])
			unix.Close(reports[1])
			return nil, fmt.Errorf("pipe: %w", err)
		}
		childEnds = append(childEnds, release[0])
	}
	closeChildEnds := func() {
		for _, fd := range childEnds {
			unix.Close(fd)
		}
	}
	var devNull *os.File
	at := &p.attr
	*at = attr{terminal: a.Terminal, reports: reports[1], release: release[0], trace: a.Trace,
		parentEnds: [2]int{reports[0], release[1]}}
	for i, f := range a.Stdio {
		if f == nil {
			if devNull == nil {
				var err error
				if devNull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
					closeChildEnds()
					unix.Close(reports[0])
					if release[1] >= 0 {
						unix.Close(release[1])
					}
					return nil, err
				}
			}
			f = devNull
		}
		at.stdio[i] = int(f.Fd())
	}
	at.nextFD = 3
	for _, fd := range []int{at.stdio[0], at.stdio[1], at.stdio[2], at.reports, at.release, at.terminal} {
		at.nextFD = max(at.nextFD, fd+1)
	}
	if lim, ok := originalNofile(); ok {
		at.nofile, at.restoreNofile = lim, true
	}
	var clone3 *cloneArgs
	if a.CgroupFD >= 0 {
		clone3 = &cloneArgs{flags: uint64(p.cloneFlags) | unix.CLONE_INTO_CGROUP,
			exitSignal: uint64(syscall.SIGCHLD), cgroup: uint64(a.CgroupFD)}
	}

	// The child borrows crun's memory, and this thread is suspended until
	// it executes the command, unless: it must wait for crun (after-clone
	// host steps); a user namespace (the kernel refuses to share memory
	// with it); a single P, which this thread keeps while it waits: a step
	// that blocks would leave no goroutine able to hear a signal.
	vfork := !a.Wait && p.cloneFlags&unix.CLONE_NEWUSER == 0 && runtime.GOMAXPROCS(0) > 1
	if vfork {
		// The world cannot stop while this thread waits (it is not at a
		// safe point), so a garbage collection that started would wait
		// too, and with it every goroutine: none starts meanwhile.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	// No fd may be created without close-on-exec while the child is
	// forked (syscall.ForkExec takes the same lock).
	syscall.ForkLock.Lock()
	pid, errno := p.fork(clone3, vfork)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(p)
	runtime.KeepAlive(clone3)
	runtime.KeepAlive(a.Stdio)
	closeChildEnds()
	if devNull != nil {
		devNull.Close()
	}
	c := &Child{prog: p, reports: os.NewFile(uintptr(reports[0]), "crun-spawn-reports")}
	if release[1] >= 0 {
		c.release = os.NewFile(uintptr(release[1]), "crun-spawn-release")
	}
	if errno != 0 {
		c.Close()
		return nil, errno
	}
	c.Pid = int(pid)
	return c, nil
}

// Release lets a child started with Attr.Wait run its steps.
func (c *Child) Release() error {
	if c.release == nil {
		return nil
	}
	_, err := c.release.Write([]byte{1})
	c.release.Close()
	c.release = nil
	return err
}

// Close closes the parent's ends of the pipes. A child still waiting for
// Release then exits.
func (c *Child) Close() {
	c.reports.Close()
	if c.release != nil {
		c.release.Close()
	}
}

// Progress receives the child's progress for --trace: each step done
// (with how long it took, and when, on CLOCK_MONOTONIC), and the exec.
type Progress struct {
	Step func(index int, elapsed time.Duration, at int64)
	Exec func(path string, at int64)
}

// Follow reads the child's reports until it executes the command or
// fails. executing tells whether it announced the exec and then closed
// its end (execve closes it); failure is the error it reported, in the
// form crun-init uses. With neither, the child died before the exec.
func (c *Child) Follow(progress Progress) (executing bool, failure *child.Message, err error) {
	var rec record
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&rec)), unsafe.Sizeof(rec))
	var last int64
	announced := -1
	var announcedAt int64
	for {
		if _, err := io.ReadFull(c.reports, buf); err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		} else if err != nil {
			return false, nil, fmt.Errorf("read the child's reports: %w", err)
		}
		switch kind(rec.Kind) {
		case kindStart:
			last = rec.Time
		case kindDone:
			if progress.Step != nil {
				progress.Step(int(rec.Step), time.Duration(rec.Time-last), rec.Time)
			}
			last = rec.Time
		case kindExec:
			announced, announcedAt = int(rec.Arg), rec.Time
		case kindFail:
			return false, c.prog.describe(rec), nil
		default:
			return false, nil, fmt.Errorf("the child sent a report of unknown kind %d", rec.Kind)
		}
	}
	if announced < 0 || announced >= len(c.prog.candidates) {
		return false, nil, nil
	}
	if progress.Exec != nil {
		progress.Exec(c.prog.candidate(announced), announcedAt)
	}
	return true, nil, nil
}

// kind is what a record reports.
type kind uint32

const (
	kindStart kind = iota + 1 // the child starts its steps (a time, for the first step's)
	kindDone                  // a step is done
	kindExec                  // the child is about to execute a candidate
	kindFail                  // a system call failed: the child exits
)

// stage is which system call of a step failed.
type stage uint32

const (
	stStep       stage = iota // the step's own call
	stOpenRoot                // open the root a target is resolved in
	stPin                     // open the mount target inside the root
	stCreate                  // create a missing directory or file (Arg: which)
	stBindSource              // stat a bind mount's source
	stChdir                   // pivot_root: chdir into the new root
	stPivot                   // pivot_root itself
	stDetach                  // unmount the old root
	stOpen                    // open a file (the cgroup's tasks file)
	stWrite                   // write it
	stOpenSource              // copy: open the source
	stOpenTarget              // copy: open the target
	stCopy                    // copy: the data
	stChmod                   // copy: the target's mode
	stTerminal                // hand the terminal to the child
	stPdeathsig               // ask to be killed with crun
	stStdio                   // set up the standard streams (Arg: which)
	stExec                    // execve (Arg: which candidate)
	stNotFound                // no candidate exists
)

// record is one report, written whole (it is below PIPE_BUF).
type record struct {
	Kind, Step, Stage, Errno, Arg, _ uint32
	Time                             int64 // CLOCK_MONOTONIC ns, with Attr.Trace
}

func (p *Program) candidate(i int) string {
	c := p.candidates[i]
	return string(c[:len(c)-1])
}

// str returns NUL-terminated bytes as a string.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return string(b[:len(b)-1])
}

// describe turns a failure record into the error crun-init would have
// sent for it, with the same words.
func (p *Program) describe(rec record) *child.Message {
	errno := syscall.Errno(rec.Errno)
	m := &child.Message{Type: child.MsgError, ExitCode: child.ExitCrunFailed}
	if rec.Step == 0 || int(rec.Step) > len(p.steps) {
		var err error
		switch stage(rec.Stage) {
		case stExec:
			path := p.candidate(min(int(rec.Arg), len(p.candidates)-1))
			m.What = "exec " + path
			err = errno
			m.ExitCode, m.Hint = child.ExecFailure(err)
		case stNotFound:
			m.What = "exec " + p.plan.Command[0]
			err = child.ErrNotFound
			if !p.explicit {
				err = fmt.Errorf("%w in the container's PATH=%s", child.ErrNotFound, child.EnvValue(p.plan.Env, "PATH"))
			}
			m.ExitCode, m.Hint = child.ExitNotFound, child.NotFoundHint
		case stTerminal:
			m.What, err = "crun: hand the terminal to the container", errno
		case stPdeathsig:
			m.What, err = "crun: prctl(PR_SET_PDEATHSIG)", errno
		case stStdio:
			m.What, err = fmt.Sprintf("crun: set up the container's fd %d", rec.Arg), errno
		default:
			m.What, err = "crun's child", fmt.Errorf("stage %d: %w", rec.Stage, errno)
		}
		m.Err = err.Error()
		return m
	}
	s := p.steps[rec.Step-1]
	ps := p.plan.Steps[rec.Step-1]
	m.Step, m.Plugin, m.What = int(rec.Step), ps.Plugin, plan.DescribeStep(ps.Step)
	err := p.stepError(s, stage(rec.Stage), errno, int(rec.Arg))
	m.Err, m.Hint = err.Error(), child.Hint(err)
	return m
}

// stepError words a step's failed system call as crun-init does.
func (p *Program) stepError(s step, st stage, errno syscall.Errno, arg int) error {
	target := str(s.path)
	if s.rel != nil {
		target = filepath.Join(str(s.root), str(s.rel))
	}
	switch st {
	case stOpenRoot, stPin:
		return fmt.Errorf("open the mount target %s in %s: %w", target, str(s.root), errno)
	case stCreate:
		op := "mkdir"
		if arg == 1 {
			op = "open"
		}
		if s.op != opMount {
			return &os.PathError{Op: op, Path: target, Err: errno}
		}
		return fmt.Errorf("create mount target %s: %w", target, &os.PathError{Op: op, Path: target, Err: errno})
	case stBindSource:
		return fmt.Errorf("create mount target %s: bind source: %w", target, &os.PathError{Op: "stat", Path: str(s.source), Err: errno})
	case stChdir:
		return fmt.Errorf("chdir %s: %w", target, errno)
	case stPivot:
		if errno == unix.EINVAL {
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
		return &os.PathError{Op: "write", Path: target, Err: errno}
	case stChmod:
		return &os.PathError{Op: "chmod", Path: target, Err: errno}
	}
	if s.op == opSymlink {
		return &os.LinkError{Op: "symlink", Old: str(s.source), New: target, Err: errno}
	}
	return errno
}
