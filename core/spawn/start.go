package spawn

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Attr says how to start the child.
type Attr struct {
	// Stdio are the command's standard streams; nil is /dev/null.
	Stdio [3]*os.File
	// Terminal, when >= 0, is the terminal whose foreground process group
	// the child's own group becomes (as a shell does for a job).
	Terminal int
	// CgroupFD, when >= 0, is a cgroup v2 directory to clone the child
	// into (clone3 with CLONE_INTO_CGROUP; an error where the kernel
	// cannot).
	CgroupFD int
	// Wait makes the child wait for Release before its steps: the parent
	// has host steps to do first (cgroup attach, id maps, hooks).
	Wait bool
	// Trace makes the child time every step, for Follow.
	Trace bool
	// Forwarded are the signals crun passes on to the container: the
	// ones crun's init passes on to the command (pid.init=true).
	Forwarded []os.Signal
	// PreserveFDs passes crun's fds 3 to 3+PreserveFDs-1 on to the
	// command (runc's --preserve-fds); every other fd crun has, the
	// command does not get.
	PreserveFDs int
	// Exec, when set, is the program the child executes (execveat of
	// the file, argv and environment the plan's), instead of looking the
	// command up in the container: crun's probe, which the container
	// cannot replace.
	Exec *os.File
}

// Child is a started child. The caller waits for it (wait4) and signals
// it by Pid.
type Child struct {
	Pid     int
	prog    *Program
	reports *os.File
	// control carries the go-ahead and the acknowledgements to the
	// child; nil when it needs neither.
	control *os.File
}

// launch is what the child of one Start reads: the program, and the
// numbers Start prepared for it.
type launch struct {
	prog *Program
	fds  childFDs
	// wait: read the go-ahead before the steps.
	wait  bool
	trace bool
	// nofile is set before the steps when setNofile (see nofile.go).
	nofile    unix.Rlimit
	setNofile bool
	// sigmask is the cloning thread's mask before the clone: the
	// command's. supervised are the signals crun's init takes.
	sigmask, supervised unix.Sigset_t
	// maxFD bounds the fds the child closes where the kernel has no
	// close_range (before 5.9).
	maxFD uintptr
	// preserveFDs: fds 3 to 3+preserveFDs-1 reach the command.
	preserveFDs int
	clone3      cloneArgs
	// resetHandlers: the clone could not reset the child's signal
	// handlers (no clone3): it does so itself.
	resetHandlers bool
	scratch       scratch
}

// childFDs are the child's file descriptors, every one above 2 (so that
// setting up 0, 1 and 2 overwrites none), or -1.
type childFDs struct {
	stdio                      [3]int
	reports, control, terminal int
	// exec is Attr.Exec's fd, or -1.
	exec int
	// parentEnds are crun's ends of the pipes, which the child closes.
	parentEnds [2]int
}

// cloneArgs is the kernel's struct clone_args (clone3(2)).
type cloneArgs struct {
	flags, pidFD, childTID, parentTID, exitSignal uint64
	stack, stackSize, tls                         uint64
	setTID, setTIDSize                            uint64
	cgroup                                        uint64
}

// Start forks the child. On success it is running the program, or
// waiting for Release.
func (p *Program) Start(a Attr) (*Child, error) {
	l := &launch{prog: p, wait: a.Wait, trace: a.Trace}
	l.fds.terminal, l.fds.control, l.fds.exec = -1, -1, -1
	l.fds.parentEnds = [2]int{-1, -1}
	// Everything opened here for the child is closed once it is forked.
	var opened []int
	closeOpened := func() {
		for _, fd := range opened {
			unix.Close(fd)
		}
	}
	defer closeOpened()
	// above2 returns fd, or a copy of it above 2, closed after the fork.
	above2 := func(fd int) (int, error) {
		if fd > 2 {
			return fd, nil
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return -1, fmt.Errorf("duplicate fd %d: %w", fd, err)
		}
		opened = append(opened, dup)
		return dup, nil
	}

	var reports, control [2]int
	if err := unix.Pipe2(reports[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	opened = append(opened, reports[1])
	c := &Child{prog: p, reports: os.NewFile(uintptr(reports[0]), "crun-child-reports")}
	l.fds.parentEnds[0] = reports[0]
	if a.Wait || p.announces {
		if err := unix.Pipe2(control[:], unix.O_CLOEXEC); err != nil {
			c.Close()
			return nil, fmt.Errorf("pipe: %w", err)
		}
		opened = append(opened, control[0])
		c.control = os.NewFile(uintptr(control[1]), "crun-child-control")
		l.fds.parentEnds[1] = control[1]
	}
	fail := func(err error) (*Child, error) {
		c.Close()
		return nil, err
	}
	var err error
	if l.fds.reports, err = above2(reports[1]); err != nil {
		return fail(err)
	}
	if c.control != nil {
		if l.fds.control, err = above2(control[0]); err != nil {
			return fail(err)
		}
	}
	for i, f := range a.Stdio {
		var fd int
		if f != nil {
			fd = int(f.Fd())
		} else {
			if fd, err = unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
				return fail(fmt.Errorf("open %s: %w", os.DevNull, err))
			}
			opened = append(opened, fd)
		}
		if l.fds.stdio[i], err = above2(fd); err != nil {
			return fail(err)
		}
	}
	if a.Terminal >= 0 {
		if l.fds.terminal, err = above2(a.Terminal); err != nil {
			return fail(err)
		}
	}
	if a.Exec != nil {
		if l.fds.exec, err = above2(int(a.Exec.Fd())); err != nil {
			return fail(err)
		}
	}
	l.nofile, l.setNofile = containerNofile()
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		l.maxFD = uintptr(min(lim.Cur, 1<<16))
	}
	l.preserveFDs = a.PreserveFDs
	for _, sig := range append(a.Forwarded, syscall.SIGCHLD) {
		if s, ok := sig.(syscall.Signal); ok && s > 0 && s <= 64 {
			l.supervised.Val[0] |= 1 << (s - 1)
		}
	}
	l.clone3 = cloneArgs{flags: p.cloneFlags | unix.CLONE_CLEAR_SIGHAND, exitSignal: uint64(syscall.SIGCHLD)}
	if a.CgroupFD >= 0 {
		l.clone3.flags |= unix.CLONE_INTO_CGROUP
		l.clone3.cgroup = uint64(a.CgroupFD)
	}

	pid, err := l.start()
	runtime.KeepAlive(a.Stdio)
	runtime.KeepAlive(a.Exec)
	if err != nil {
		return fail(err)
	}
	c.Pid = pid
	return c, nil
}

// start clones the child. No goroutine may create a file descriptor
// without close-on-exec meanwhile (syscall.ForkLock, as os/exec takes it).
func (l *launch) start() (int, error) {
	l.resetHandlers = noClone3.Load()
	syscall.ForkLock.Lock()
	pid, errno := l.fork()
	syscall.ForkLock.Unlock()
	if l.resetHandlers {
		noClone3.Store(true) // it will not be there next time either
	}
	if errno != 0 {
		return 0, errno
	}
	return pid, nil
}

// Release lets a child started with Attr.Wait run its steps.
func (c *Child) Release() error {
	if c.control == nil {
		return nil
	}
	if _, err := c.control.Write([]byte{1}); err != nil {
		return err
	}
	if !c.prog.announces {
		// Nothing more to say: its end of file comes with the exec.
		c.control.Close()
		c.control = nil
	}
	return nil
}

// Close closes the parent's ends of the pipes. A child still waiting for
// crun then exits.
func (c *Child) Close() {
	c.reports.Close()
	if c.control != nil {
		c.control.Close()
		c.control = nil
	}
}

// noClone3: the kernel refused clone3 (before Linux 5.5, or a seccomp
// filter that answers ENOSYS, as container engines' default ones do): crun
// forks with clone(2), and the child resets its signal handlers itself.
var noClone3 atomic.Bool

// stackFirst: clone(2) takes the stack before the flags (s390x).
const stackFirst = runtime.GOARCH == "s390x"
