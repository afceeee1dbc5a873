package spawn

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The child's code: it runs between the clone and the exec, in a copy of
// crun with one thread (see the package doc for why it is written so).
//
// The rules, for whoever changes it:
//   - fork holds the child's main line: it is an ordinary function, so
//     its frame is made (and the stack checked) in crun before the clone.
//     Everything it calls is //go:nosplit, and the linker checks that the
//     frames of any chain of nosplit calls fit in the stack's guard area
//     (about 800 bytes, with frames unoptimised as in a debugger's build:
//     `make test` builds crun that way). Hence the shape: helpers at most
//     two calls deep, and system calls through syscall.RawSyscall6.
//   - Nothing allocates, locks, writes a pointer, uses an interface, a
//     map, a closure, defer or a string conversion: those call into a
//     runtime that is not there. Helpers return what failed; the main
//     line reports it.
//   - The helpers read the Program and the launch, and write numbers into
//     the launch's scratch memory: the child's own copy.
//   - //go:norace: the race detector's runtime must not run here either.

// scratch is memory the child writes to (its copy of it). Nothing in it
// is a pointer.
type scratch struct {
	// What every child touches first, together (the child's pages are
	// copies that cost a fault each on first touch).
	rec      record
	how      unix.OpenHow
	poll     unix.PollFd
	zero     unix.Timespec // a timeout of nothing
	ts       unix.Timespec
	status   int32 // wait4's
	pgrp     int32
	one      [1]byte
	approved int       // the length of the host path crun recorded last (see create)
	action   [4]uint64 // a struct sigaction
	fdpath   [32]byte  // /proc/self/fd/N
	fdpath2  [32]byte  // another
	digits   [20]byte  // N, backwards
	stx      unix.Statx_t
	statfs   unix.Statfs_t
	info     [128]byte // siginfo_t, for rt_sigtimedwait
	// The process's capabilities, as capget reads them.
	capHeader unix.CapUserHeader
	capData   [2]unix.CapUserData
	dents     [2048]byte // /proc/self/fd's entries
	// Large buffers, each touched only by the steps that need it.
	path [maxPath]byte // a path being created, as symlinks are followed
	tmp  [maxPath]byte // the next such path
	link [maxPath]byte // a symlink's target
	out  announcement
	buf  [16 << 10]byte // a copy's data, when sendfile cannot
}

// announcement is a record with a path after it: the two are written
// to crun in one write (a record's size is a multiple of 8: no padding).
type announcement struct {
	rec  record
	path [maxPath]byte
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uintptr(99)

// defaultAction is a struct sigaction that says SIG_DFL (all zero, on
// every architecture).
var defaultAction [4]uint64

// allSignals blocks every signal (the kernel reads 8 bytes of it).
var allSignals = unix.Sigset_t{Val: [len(unix.Sigset_t{}.Val)]uint64{^uint64(0)}}

var (
	slash = []byte("/\x00")
	dot   = []byte(".\x00")
	zero  = []byte("0")
)

// fork clones the child, which never returns from here: the code after
// the clone is the child's main line, from the terminal to the exec.
//
//go:noinline
//go:norace
//go:nocheckptr
func (l *launch) fork() (pid int, errno syscall.Errno) {
	// Every signal blocked on this thread, from here to the clone and in
	// the child. Nothing between here and the clone can let the
	// scheduler move this goroutine to another thread: only nosplit
	// calls, and no signal to preempt it.
	if _, _, errno = syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&allSignals)),
		uintptr(unsafe.Pointer(&l.sigmask)), 8, 0, 0); errno != 0 {
		return 0, errno
	}
	// clone3 resets the child's signal handlers (CLONE_CLEAR_SIGHAND)
	// and can place it in a cgroup; where it is missing (before Linux
	// 5.5, or refused by a seccomp filter) the child resets them itself.
	r, errno := uintptr(0), syscall.ENOSYS
	if !l.resetHandlers {
		r, _, errno = syscall.RawSyscall6(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&l.clone3)), unsafe.Sizeof(l.clone3), 0, 0, 0, 0)
	}
	if errno == syscall.ENOSYS && l.clone3.flags&unix.CLONE_INTO_CGROUP == 0 {
		l.resetHandlers = true
		r, errno = forkProcess(l.prog.cloneFlags)
	}
	if errno != 0 || r != 0 {
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&l.sigmask)), 0, 8, 0, 0)
		return int(r), errno
	}

	// The child, with every signal blocked.
	p, fds, sc := l.prog, &l.fds, &l.scratch
	var e syscall.Errno
	// crun's ends of the pipes: a child waiting for crun must read end
	// of file when crun closes its end.
	for i := 0; i < len(fds.parentEnds); i++ {
		if fd := fds.parentEnds[i]; fd >= 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
		}
	}
	// No handler of crun's before a signal can be let in: from the exec
	// on, or for a fault, the default actions apply (as os/exec's
	// children have them, a signal crun ignores stays ignored).
	for sig := uintptr(1); l.resetHandlers && sig <= 64; sig++ {
		if sig != uintptr(syscall.SIGKILL) && sig != uintptr(syscall.SIGSTOP) {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, 0, uintptr(unsafe.Pointer(&sc.action)), 8, 0, 0)
			if sc.action[0] != 1 { // SIG_IGN
				syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&defaultAction)), 0, 8, 0, 0)
			}
		}
	}
	l.closeCrunsFiles()
	// Named so in ps while it prepares the container, and as PID 1 with
	// pid.init; the exec names it after the command.
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(&initName[0])), 0, 0, 0, 0)
	if fds.terminal >= 0 {
		// A process group of its own, which becomes the terminal's
		// foreground once the steps are done (as a shell does for a
		// job): until then a Ctrl-C reaches crun, which can end a
		// setup that hangs.
		if _, _, e = syscall.RawSyscall6(syscall.SYS_SETPGID, 0, 0, 0, 0, 0, 0); e != 0 {
			l.fail(0, stTerminal, e, 0)
		}
	}
	// The container does not outlive a killed crun. crun may have died
	// before this: then nobody reads the reports any more.
	if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); e != 0 {
		l.fail(0, stPdeathsig, e, 0)
	}
	if l.crunGone() {
		exit(ExitCrunFailed)
	}
	if l.wait {
		n, _, _ := syscall.RawSyscall6(syscall.SYS_READ, uintptr(fds.control), uintptr(unsafe.Pointer(&sc.one[0])), 1, 0, 0, 0)
		if n != 1 {
			// crun gave up on this container: nobody to report to.
			exit(ExitCrunFailed)
		}
	}
	// Before the steps, so that a step may set it otherwise.
	if l.setNofile {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&l.nofile)), 0, 0, 0); e != 0 {
			l.fail(0, stNofile, e, 0)
		}
	}
	if l.trace {
		l.report(kindStart, 0, 0)
	}
	for i := 0; i < len(p.steps); i++ {
		s := &p.steps[i]
		// The root the step's paths are resolved in, and what they need
		// created first.
		var rootFD, copyFrom uintptr
		var st stage
		var arg uint32
		if s.root != nil {
			if rootFD, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, ptr(s.root), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0); e != 0 {
				l.fail(s.index, stOpenRoot, e, 0)
			}
		}
		if s.ifExists && l.missing(s, rootFD) {
			if s.root != nil {
				syscall.RawSyscall6(syscall.SYS_CLOSE, rootFD, 0, 0, 0, 0, 0)
			}
			if l.trace {
				l.report(kindDone, s.index, 0)
			}
			continue
		}
		// What the step needs created first: a directory (mode) or,
		// with file, an empty file.
		create, file, mode := true, false, uint32(0o755)
		switch {
		case s.op == opMkdir:
			mode = s.mode
		case s.op == opCopyFile:
			// The source first: nothing is created for a copy that
			// cannot be made.
			if copyFrom, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, ptr(s.source), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0); e != 0 {
				l.fail(s.index, stOpenSource, e, 0)
			}
			file = true
		case s.create == createDir:
		case s.create == createLikeSource:
			// A file for a file, a directory for a directory.
			if _, _, e = syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, ptr(s.source), 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&sc.stx)), 0); e != 0 {
				l.fail(s.index, stBindSource, e, 0)
			}
			file = sc.stx.Mode&syscall.S_IFMT != syscall.S_IFDIR
		default:
			create = false
		}
		// create stops before each mount point it would make in the
		// host's tree until crun has recorded it (announceCreate).
		sc.approved = 0
		for create {
			st, e, arg = l.create(s, rootFD, file, mode)
			if st != stAnnounce || e != 0 {
				break
			}
			if e = l.announce(kindCreate, s.index, int(arg)); e != 0 {
				break
			}
			sc.approved = int(arg)
		}
		if e != 0 {
			l.fail(s.index, st, e, arg)
		}
		switch s.op {
		case opMount:
			// On the target opened inside the root, when it has one: a
			// file that cannot be swapped for a symlink before the mount.
			target, pinned := ptr(s.path), uintptr(0)
			if s.pin {
				if pinned, e = l.openInRoot(rootFD, ptr(s.rel), unix.O_PATH); e != 0 {
					l.fail(s.index, stPin, e, 0)
				}
				target = l.fdPath(pinned)
			}
			// A mount on the host is recorded by crun before it exists.
			hostLen := 0
			if s.announceMount {
				st = stHostPath
				if hostLen, e = l.hostPath(s, target); e == 0 {
					st, e = stAnnounce, l.announce(kindMount, s.index, hostLen)
				}
			}
			if e == 0 {
				st = stStep
				flags := s.flags
				if flags&(syscall.MS_REMOUNT|syscall.MS_BIND) == syscall.MS_REMOUNT|syscall.MS_BIND {
					flags |= keptMountFlags(target, sc)
				}
				_, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, ptr(s.source), target, ptr(s.fstype), flags, ptr(s.data), 0)
				for tries := 0; e == syscall.ENOENT && s.pin && tries < 3; tries++ {
					// The pinned target was the top mount of its path,
					// another container's (no mount namespace, one
					// rootfs), unmounted since: the pin is on a detached
					// mount. Pin the path again.
					syscall.RawSyscall6(syscall.SYS_CLOSE, pinned, 0, 0, 0, 0, 0)
					if pinned, e = l.openInRoot(rootFD, ptr(s.rel), unix.O_PATH); e != 0 {
						l.fail(s.index, stPin, e, 0)
					}
					target = l.fdPath(pinned)
					_, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, ptr(s.source), target, ptr(s.fstype), flags, ptr(s.data), 0)
				}
				if e == syscall.ENOENT && flags&syscall.MS_REMOUNT == 0 {
					// The source or the target: say which.
					st = stMountTarget
					if flags&syscall.MS_BIND != 0 {
						if _, _, se := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, ptr(s.source), 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&sc.stx)), 0); se != 0 {
							st, e = stMountSource, se
						}
					}
				}
				if e == 0 && s.announceMount && flags&syscall.MS_REMOUNT == 0 {
					l.reportMountID(s.index, hostLen)
				}
			}
			if s.pin {
				syscall.RawSyscall6(syscall.SYS_CLOSE, pinned, 0, 0, 0, 0, 0)
			}
		case opSethostname:
			if crashTest {
				crashIfAsked(s)
			}
			_, _, e = syscall.RawSyscall6(syscall.SYS_SETHOSTNAME, ptr(s.source), uintptr(len(s.source)), 0, 0, 0, 0)
		case opSymlink:
			e = l.symlink(s)
		case opChdir:
			_, _, e = syscall.RawSyscall6(syscall.SYS_CHDIR, ptr(s.path), 0, 0, 0, 0, 0)
		case opChroot:
			if _, _, e = syscall.RawSyscall6(syscall.SYS_CHROOT, ptr(s.path), 0, 0, 0, 0, 0); e == 0 {
				_, _, e = syscall.RawSyscall6(syscall.SYS_CHDIR, ptr(slash), 0, 0, 0, 0, 0)
			}
		case opPivotRoot:
			st, e = pivotRoot(s)
		case opJoinCgroup:
			st, e = joinCgroup(s)
		case opCopyFile:
			st, e = l.copyFile(s, rootFD, copyFrom)
		case opMask:
			st, e = l.mask(s, rootFD)
		case opRlimit:
			_, _, e = syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, uintptr(s.resource), uintptr(unsafe.Pointer(&s.rlim)), 0, 0, 0)
		case opSetUser:
			if st, e = setUser(s); e == 0 {
				// A change of credentials clears the parent-death
				// signal: set it again, and look whether crun died
				// meanwhile.
				if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); e != 0 {
					st = stPdeathsig
				} else if l.crunGone() {
					exit(ExitCrunFailed)
				}
			}
		case opCapabilities:
			st, e, arg = setCapabilities(s.caps, sc)
		case opNoNewPrivs:
			_, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0)
		case opSeccomp:
			_, _, e = syscall.RawSyscall6(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, s.seccomp.flags,
				uintptr(unsafe.Pointer(&s.seccomp.fprog)), 0, 0, 0)
		}
		if e != 0 {
			l.fail(s.index, st, e, arg)
		}
		if s.root != nil {
			syscall.RawSyscall6(syscall.SYS_CLOSE, rootFD, 0, 0, 0, 0, 0)
		}
		if l.trace {
			l.report(kindDone, s.index, 0)
		}
	}
	if fds.terminal >= 0 {
		self, _, _ := syscall.RawSyscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
		sc.pgrp = int32(self)
		if _, _, e = syscall.RawSyscall6(syscall.SYS_IOCTL, uintptr(fds.terminal), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&sc.pgrp)), 0, 0, 0); e != 0 {
			l.fail(0, stTerminal, e, 0)
		}
	}
	// The command's standard streams: crun placed every fd the child
	// uses above 2, so none is overwritten here.
	for i := 0; i < len(fds.stdio); i++ {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_DUP3, uintptr(fds.stdio[i]), uintptr(i), 0, 0, 0, 0); e != 0 {
			l.fail(0, stStdio, e, uint32(i))
		}
	}
	if p.reapingInit {
		// The command is this process's child; it stays as PID 1.
		if cmd := l.forkCommand(); cmd != 0 {
			l.supervise(cmd)
		}
	}
	// The command gets its standard streams, the fds the caller asked to
	// pass on (--preserve-fds), and nothing else crun inherited. (The
	// reports pipe closes with the exec.)
	l.closeFrom(uintptr(3+l.preserveFDs), uintptr(fds.reports), uintptr(fds.exec))
	l.exec()
	return 0, 0
}

// crashIfAsked faults (a store through a nil pointer) when the hostname
// is crashHostname: the crash test's trigger, in crun_crashtest builds
// only.
//
//go:nosplit
//go:norace
func crashIfAsked(s *step) {
	if len(s.source) != len(crashHostname) {
		return
	}
	for i := 0; i < len(crashHostname); i++ {
		if s.source[i] != crashHostname[i] {
			return
		}
	}
	var nowhere *uint32
	*nowhere = 1
}

const crashHostname = "crun-crash-test"

// initName is the child's name until it executes the command.
var initName = []byte("crun-init\x00")

// closeCrunsFiles closes crun's own files in the child: every fd with
// close-on-exec (crun opens all its files so) but the child's. They
// would close at the exec anyway; until then they are another run's
// pipes (a library runs several containers at once), whose reader would
// wait for this child. Files without close-on-exec came from crun's
// caller and stay: a step may read one (/dev/fd/N). Without /proc they
// stay open until the exec.
//
//go:nosplit
//go:norace
func (l *launch) closeCrunsFiles() {
	sc, fds := &l.scratch, &l.fds
	dir, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&fdDir[0])), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return
	}
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_GETDENTS64, dir, uintptr(unsafe.Pointer(&sc.dents[0])), uintptr(len(sc.dents)), 0, 0, 0)
		if e != 0 || n == 0 || n > uintptr(len(sc.dents)) {
			break
		}
		// struct linux_dirent64: d_reclen at 16, d_name from 19.
		for off := uintptr(0); off+19 < n; {
			reclen := uintptr(sc.dents[off+16]) | uintptr(sc.dents[off+17])<<8
			fd := uintptr(0)
			for i := off + 19; i < n && sc.dents[i] >= '0' && sc.dents[i] <= '9'; i++ {
				fd = fd*10 + uintptr(sc.dents[i]-'0')
			}
			if reclen == 0 {
				break
			}
			off += reclen
			if fd < 3 || fd == dir || int(fd) == fds.reports || int(fd) == fds.control || int(fd) == fds.terminal ||
				int(fd) == fds.stdio[0] || int(fd) == fds.stdio[1] || int(fd) == fds.stdio[2] || int(fd) == fds.exec {
				continue
			}
			if flags, _, e := syscall.RawSyscall6(syscall.SYS_FCNTL, fd, syscall.F_GETFD, 0, 0, 0, 0); e == 0 && flags&syscall.FD_CLOEXEC != 0 {
				syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			}
		}
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, dir, 0, 0, 0, 0, 0)
}

var fdDir = []byte("/proc/self/fd\x00")

// forkProcess makes a child that continues here, as fork(2) does, in
// the namespaces flags ask for: clone without a stack of its own (the
// child runs on its copy of this one). Only s390x takes the stack first.
//
//go:nosplit
//go:norace
func forkProcess(flags uint64) (uintptr, syscall.Errno) {
	a1, a2 := uintptr(flags)|uintptr(syscall.SIGCHLD), uintptr(0)
	if stackFirst {
		a1, a2 = a2, a1
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, a1, a2, 0, 0, 0, 0)
	return r, e
}

// crunGone tells whether crun has gone away: the pipe it reads the
// reports from has no reader any more.
//
//go:nosplit
//go:norace
func (l *launch) crunGone() bool {
	pfd := &l.scratch.poll
	pfd.Fd, pfd.Events, pfd.Revents = int32(l.fds.reports), unix.POLLOUT, 0
	n, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(pfd)), 1, uintptr(unsafe.Pointer(&l.scratch.zero)), 0, 0, 0)
	return e == 0 && n == 1 && pfd.Revents&unix.POLLERR != 0
}

// fail reports a failed system call and exits.
//
//go:nosplit
//go:norace
func (l *launch) fail(step uint32, st stage, e syscall.Errno, arg uint32) {
	r := &l.scratch.rec
	r.Kind, r.Step, r.Stage, r.Errno, r.Arg, r.Len, r.Time, r.ID = uint32(kindFail), step, uint32(st), uint32(e), arg, 0, 0, 0
	syscall.RawSyscall6(syscall.SYS_WRITE, uintptr(l.fds.reports), uintptr(unsafe.Pointer(r)), recordSize, 0, 0, 0)
	exit(ExitCrunFailed)
}

// report writes one record of progress to crun.
//
//go:nosplit
//go:norace
func (l *launch) report(k kind, step, arg uint32) {
	r := &l.scratch.rec
	r.Kind, r.Step, r.Stage, r.Errno, r.Arg, r.Len, r.Time, r.ID = uint32(k), step, 0, 0, arg, 0, 0, 0
	if l.trace {
		ts := &l.scratch.ts
		syscall.RawSyscall6(syscall.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(ts)), 0, 0, 0, 0)
		r.Time = ts.Sec*1e9 + ts.Nsec
	}
	syscall.RawSyscall6(syscall.SYS_WRITE, uintptr(l.fds.reports), uintptr(unsafe.Pointer(r)), recordSize, 0, 0, 0)
}

// sameMount tells whether two open files are on the same mount. A mount
// point made inside a named root is in the host's tree (crun records it,
// to remove it after the run) only when its parent is on the root's own
// mount: one inside a mount the container made (its /dev tmpfs) is not,
// and the host's directory of the same name (the rootfs's dev/pts) must
// not be taken for it. When it cannot tell, it says no: a mount point
// left behind is better than a rootfs's directory removed. (Nor is one
// reached through a symlink in the root recorded: crun would resolve
// that symlink on the host, not in the root.)
//
//go:nosplit
//go:norace
func (l *launch) sameMount(a, b uintptr) bool {
	stx := &l.scratch.stx
	// An array, not a slice: no bounds check, whose panic path would
	// not fit the nosplit stack of a debugger's build.
	path := uintptr(unsafe.Pointer(&noPath[0]))
	if _, _, e := syscall.RawSyscall6(unix.SYS_STATX, a, path, unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, uintptr(unsafe.Pointer(stx)), 0); e != 0 || stx.Mask&unix.STATX_MNT_ID == 0 {
		return false
	}
	first := stx.Mnt_id
	if _, _, e := syscall.RawSyscall6(unix.SYS_STATX, b, path, unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, uintptr(unsafe.Pointer(stx)), 0); e != 0 || stx.Mask&unix.STATX_MNT_ID == 0 {
		return false
	}
	return first == stx.Mnt_id
}

// missing tells whether a mount with IfExists lacks its source (a bind
// mount's) or its target (one it would not create).
//
//go:nosplit
//go:norace
func (l *launch) missing(s *step, rootFD uintptr) bool {
	stx := &l.scratch.stx
	if s.flags&syscall.MS_BIND != 0 {
		if _, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, ptr(s.source), 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(stx)), 0); e == syscall.ENOENT || e == syscall.ENOTDIR {
			return true
		}
	}
	if s.create != createNone {
		return false
	}
	if s.pin {
		fd, e := l.openInRoot(rootFD, ptr(s.rel), unix.O_PATH)
		if e == 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		}
		return e == syscall.ENOENT || e == syscall.ENOTDIR
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, ptr(s.path), 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(stx)), 0)
	return e == syscall.ENOENT || e == syscall.ENOTDIR
}

// noPath is statx's "" for AT_EMPTY_PATH.
var noPath [1]byte

// reportMountID tells crun the id of the mount just made on the host path
// in scratch.out.path (n bytes), read right after the mount: crun undoes
// exactly that mount, not whatever is on top of the path by then (another
// container's, on the same rootfs). The kernel's 64-bit unique id where it
// has one (6.8), else the mount id mountinfo shows, which may be reused
// once the mount is gone. When statx fails there is no record, and crun
// falls back to counting the mounts on the path.
//
//go:nosplit
//go:norace
func (l *launch) reportMountID(step uint32, n int) {
	sc := &l.scratch
	sc.out.path[n] = 0
	if _, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, uintptr(unsafe.Pointer(&sc.out.path[0])), unix.AT_SYMLINK_NOFOLLOW,
		unix.STATX_MNT_ID_UNIQUE, uintptr(unsafe.Pointer(&sc.stx)), 0); e != 0 {
		return
	}
	var unique uint32
	switch {
	case sc.stx.Mask&unix.STATX_MNT_ID_UNIQUE != 0:
		unique = 1
	case sc.stx.Mask&unix.STATX_MNT_ID == 0:
		return
	}
	r := &sc.rec
	r.Kind, r.Step, r.Stage, r.Errno, r.Arg, r.Len, r.Time, r.ID = uint32(kindMounted), step, 0, 0, unique, 0, 0, sc.stx.Mnt_id
	syscall.RawSyscall6(syscall.SYS_WRITE, uintptr(l.fds.reports), uintptr(unsafe.Pointer(r)), recordSize, 0, 0, 0)
}

// announce tells crun of a host path about to be made (a mount or a
// mount point: the record kind says which), the n bytes already in
// scratch.out.path, and waits until crun has recorded it.
//
//go:nosplit
//go:norace
func (l *launch) announce(k kind, step uint32, n int) syscall.Errno {
	out := &l.scratch.out
	out.rec = record{Kind: uint32(k), Step: step, Len: uint32(n)}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_WRITE, uintptr(l.fds.reports), uintptr(unsafe.Pointer(out)), recordSize+uintptr(n), 0, 0, 0); e != 0 {
		return e
	}
	got, _, e := syscall.RawSyscall6(syscall.SYS_READ, uintptr(l.fds.control), uintptr(unsafe.Pointer(&l.scratch.one[0])), 1, 0, 0, 0)
	if e == 0 && got != 1 {
		e = syscall.EPIPE // crun is gone
	}
	return e
}

//go:nosplit
//go:norace
func exit(code int) {
	for {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, uintptr(code), 0, 0, 0, 0, 0)
	}
}

//go:nosplit
func ptr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

// openInRoot opens path inside the root rootFD, resolved as if it were
// "/": symlinks and ".." cannot lead out of it.
//
//go:nosplit
//go:norace
func (l *launch) openInRoot(rootFD, path uintptr, flags uint64) (uintptr, syscall.Errno) {
	h := &l.scratch.how
	h.Flags, h.Mode, h.Resolve = flags|unix.O_CLOEXEC, 0, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS
	r, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, rootFD, path, uintptr(unsafe.Pointer(h)), unsafe.Sizeof(*h), 0, 0)
	return r, e
}

// hostPath writes into scratch.out.path the path a mount is made on, as
// the kernel resolves it: crun records that, not the step's path, which
// may go through symlinks (inside a chroot, say). A target opened in a
// root is named by target (/proc/self/fd/N); another is opened here. It
// returns the path's length. Where /proc is missing it falls back to the
// step's path.
//
//go:nosplit
//go:norace
func (l *launch) hostPath(s *step, target uintptr) (int, syscall.Errno) {
	out := &l.scratch.out.path
	link := target
	fd, e := uintptr(0), syscall.Errno(0)
	if !s.pin {
		if fd, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, target, unix.O_PATH|unix.O_CLOEXEC, 0, 0, 0); e != 0 {
			return 0, e
		}
		link = l.fdPath(fd)
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_READLINKAT, atFDCWD, link, uintptr(unsafe.Pointer(&out[0])), uintptr(len(out)), 0, 0)
	if !s.pin {
		syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	}
	if e == 0 && int(n) >= len(out) {
		return 0, syscall.ENAMETOOLONG
	}
	if e != 0 && !s.pin {
		n, e = uintptr(len(s.path)-1), 0
		for i := 0; i < int(n) && i < len(out); i++ {
			out[i] = s.path[i]
		}
	}
	return int(n), e
}

// create makes what is missing of s.rel inside rootFD: directories, and
// the last component as an empty file when file is set. A symlink whose
// target is missing (a rootfs's /etc/resolv.conf, often) is followed,
// inside the root, and its target is what gets created. It returns the
// stage that failed, its error, and what it was doing: 0 making a
// directory, 1 making the file, 2 opening what is there.
//
// For a mount point in the host's tree (announceCreate) it returns
// stAnnounce, and the length of the path it is about to make in
// scratch.out.path, until the caller sets scratch.approved to that length
// (crun has recorded it): the walk is the same each time it is called.
//
// The path is rewritten in scratch.path as links are followed; each
// component is checked with openat2 (RESOLVE_IN_ROOT) from the root, and
// created relative to its parent, opened the same way.
//
//go:nosplit
//go:norace
func (l *launch) create(s *step, rootFD uintptr, file bool, mode uint32) (stage, syscall.Errno, uint32) {
	sc := &l.scratch
	path := &sc.path
	if len(s.rel) > len(path) { // Compile refuses these
		return stCreate, syscall.ENAMETOOLONG, 0
	}
	n := 0
	for ; n < len(s.rel) && n < len(path)-1; n++ {
		path[n] = s.rel[n]
	}
	path[n] = 0
	links := 0
	start := 0 // where the components not yet known to exist begin
	for {
		i := start
		for path[i] == '/' {
			i++
		}
		if path[i] == 0 {
			return stCreate, 0, 0
		}
		j := i
		for path[j] != 0 && path[j] != '/' {
			j++
		}
		k := j // is this the last component (nothing but slashes after)?
		for path[k] == '/' {
			k++
		}
		last := path[k] == 0
		sep := path[j]
		path[j] = 0
		flags := uint64(unix.O_PATH)
		if last && !file && s.op == opMkdir {
			flags |= unix.O_DIRECTORY // mkdir -p: a file in the way is an error
		}
		fd, e := l.openInRoot(rootFD, uintptr(unsafe.Pointer(&path[0])), flags)
		if e == 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			path[j] = sep
			start = j
			continue
		}
		if e != syscall.ENOENT {
			if flags&unix.O_DIRECTORY != 0 {
				return stCreate, e, 0 // mkdir -p's own check
			}
			return stCreate, e, 2
		}
		// Missing, or a symlink to something missing; its parent, all
		// before i, exists.
		dirFD := rootFD
		end := i // of the parent, before its slashes
		for end > 0 && path[end-1] == '/' {
			end--
		}
		if end > 0 {
			path[end] = 0
			if dirFD, e = l.openInRoot(rootFD, uintptr(unsafe.Pointer(&path[0])), unix.O_PATH|unix.O_DIRECTORY); e != 0 {
				return stCreate, e, 2
			}
			path[end] = '/'
		}
		base := uintptr(unsafe.Pointer(&path[i]))
		st, which := stCreate, uint32(0)
		if last && file {
			which = 1
		}
		if m, _, re := syscall.RawSyscall6(syscall.SYS_READLINKAT, dirFD, base, uintptr(unsafe.Pointer(&sc.link[0])), uintptr(len(sc.link)), 0, 0); re == 0 {
			// A symlink that leads nowhere (yet): follow it, inside the
			// root, and start over on the new path.
			links++
			switch {
			case links > 40:
				e = syscall.ELOOP
			case int(m) >= len(sc.link) || !l.followLink(i, j, sep, int(m)):
				e = syscall.ENAMETOOLONG
			default:
				e = 0
				j, sep = 0, path[0]
			}
		} else if s.announceCreate && !l.approved(j) && (!s.pin || links == 0 && l.sameMount(dirFD, rootFD)) {
			// A mount point in the host's tree, for crun to record
			// before it exists: the path from the root, with a slash in
			// front. The caller announces it and calls again.
			out := &sc.out.path
			out[0] = '/'
			w := 1
			for r := 0; r < j && w < len(out); r++ {
				out[w] = path[r]
				w++
			}
			st, e, which = stAnnounce, 0, uint32(w)
		} else if last && file {
			// A copy's target is made with the copy's mode: its content
			// is never readable by others, even for a moment.
			fileMode := uintptr(0o644)
			if s.op == opCopyFile {
				fileMode = uintptr(s.mode)
			}
			fd, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, dirFD, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode, 0, 0)
			if e == 0 {
				syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			}
		} else {
			_, _, e = syscall.RawSyscall6(syscall.SYS_MKDIRAT, dirFD, base, uintptr(mode), 0, 0, 0)
		}
		if e == syscall.EEXIST && st != stAnnounce {
			// Made meanwhile by another container on the same tree:
			// the walk goes on over it, as over one that was there.
			e = 0
		}
		if end > 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, dirFD, 0, 0, 0, 0, 0)
		}
		if st == stAnnounce || e != 0 {
			return st, e, which
		}
		path[j] = sep
		start = j
	}
}

// approved tells whether crun has recorded the path scratch.path[:j],
// the last path announced (still in scratch.out.path).
//
//go:nosplit
//go:norace
func (l *launch) approved(j int) bool {
	sc := &l.scratch
	if sc.approved != j+1 || j+1 > len(sc.out.path) {
		return false
	}
	for r := 0; r < j; r++ {
		if sc.out.path[r+1] != sc.path[r] {
			return false
		}
	}
	return true
}

// followLink replaces the component path[i:j] (j holds sep, cut to NUL)
// with the symlink target read into scratch.link (n bytes): relative to
// the component's directory, or to the root for an absolute one. It
// returns false, and changes nothing, when the new path would not fit.
//
//go:nosplit
//go:norace
func (l *launch) followLink(i, j int, sep byte, n int) bool {
	sc := &l.scratch
	path, tmp, link := &sc.path, &sc.tmp, &sc.link
	w := 0
	if link[0] != '/' {
		for ; w < i; w++ { // the directory, with its slash
			tmp[w] = path[w]
		}
	}
	for r := 0; r < n; r++ {
		if w >= len(tmp)-1 {
			return false
		}
		tmp[w] = link[r]
		w++
	}
	if sep != 0 { // the rest of the path
		for r := j; r == j || path[r] != 0; r++ {
			if w >= len(tmp)-1 {
				return false
			}
			if r == j {
				tmp[w] = '/'
			} else {
				tmp[w] = path[r]
			}
			w++
		}
	}
	tmp[w] = 0
	for r := 0; r <= w; r++ {
		path[r] = tmp[r]
	}
	return true
}

// fdPath writes "/proc/self/fd/N" into the scratch memory: the name of
// an open file that mount(2) resolves in one go.
//
//go:nosplit
//go:norace
func (l *launch) fdPath(fd uintptr) uintptr { return l.fdPathIn(&l.scratch.fdpath, fd) }

// fdPathIn writes "/proc/self/fd/N" into b.
//
//go:nosplit
//go:norace
func (l *launch) fdPathIn(b *[32]byte, fd uintptr) uintptr {
	digits := &l.scratch.digits
	const prefix = "/proc/self/fd/"
	n := 0
	for ; n < len(prefix); n++ {
		b[n] = prefix[n]
	}
	d := len(digits)
	for {
		d--
		digits[d] = byte('0' + fd%10)
		fd /= 10
		if fd == 0 {
			break
		}
	}
	for ; d < len(digits); d++ {
		b[n] = digits[d]
		n++
	}
	b[n] = 0
	return uintptr(unsafe.Pointer(&b[0]))
}

// symlink makes a symlink; one that is already there with the same
// target is fine (a rootfs may have /dev/fd already).
//
//go:nosplit
//go:norace
func (l *launch) symlink(s *step) syscall.Errno {
	_, _, e := syscall.RawSyscall6(syscall.SYS_SYMLINKAT, ptr(s.source), atFDCWD, ptr(s.path), 0, 0, 0)
	if e != syscall.EEXIST {
		return e
	}
	b := &l.scratch.link
	n, _, re := syscall.RawSyscall6(syscall.SYS_READLINKAT, atFDCWD, ptr(s.path), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0)
	if re != 0 || int(n) != len(s.source)-1 {
		return e
	}
	for i := 0; i < int(n); i++ {
		if b[i] != s.source[i] {
			return e
		}
	}
	return 0
}

// pivotRoot makes s.path the root and detaches the old one:
// pivot_root(".", ".") stacks the old root on the new one, and unmounting
// "." removes it, leaving nothing of the host reachable and needing no
// directory for the old root.
//
//go:nosplit
//go:norace
func pivotRoot(s *step) (stage, syscall.Errno) {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_CHDIR, ptr(s.path), 0, 0, 0, 0, 0); e != 0 {
		return stChdir, e
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PIVOT_ROOT, ptr(dot), ptr(dot), 0, 0, 0, 0); e != 0 {
		return stPivot, e
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_UMOUNT2, ptr(dot), syscall.MNT_DETACH, 0, 0, 0, 0); e != 0 {
		return stDetach, e
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_CHDIR, ptr(slash), 0, 0, 0, 0, 0)
	return stStep, e
}

// joinCgroup writes "0" to a cgroup v1 tasks file: the writing thread,
// the child's only one, moves itself (and so the command, and all it
// forks).
//
//go:nosplit
//go:norace
func joinCgroup(s *step) (stage, syscall.Errno) {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, ptr(s.path), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return stOpen, e
	}
	_, _, e = syscall.RawSyscall6(syscall.SYS_WRITE, fd, ptr(zero), 1, 0, 0, 0)
	syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	if e != 0 {
		return stWrite, e
	}
	return stStep, 0
}

// copyFile copies a host file (open as in) into the container (a secret
// into a tmpfs): the target, created first with the copy's mode, is
// resolved inside the root, and given its mode again whatever the umask.
//
//go:nosplit
//go:norace
func (l *launch) copyFile(s *step, rootFD, in uintptr) (stage, syscall.Errno) {
	out, e := l.openInRoot(rootFD, ptr(s.rel), unix.O_WRONLY|unix.O_TRUNC)
	if e != 0 {
		return stOpenTarget, e
	}
	buf := &l.scratch.buf
	useSendfile := true
	for {
		var n uintptr
		if useSendfile {
			n, _, e = syscall.RawSyscall6(syscall.SYS_SENDFILE, out, in, 0, 1<<30, 0, 0)
			if e == syscall.EINVAL || e == syscall.ENOSYS {
				useSendfile = false // a pipe, say: read and write
				continue
			}
		} else {
			n, _, e = syscall.RawSyscall6(syscall.SYS_READ, in, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
			// Write all that was read, whatever the writes return.
			for w := uintptr(0); e == 0 && w < n; {
				m, _, we := syscall.RawSyscall6(syscall.SYS_WRITE, out, uintptr(unsafe.Pointer(&buf[w])), n-w, 0, 0, 0)
				if we == syscall.EINTR {
					continue
				}
				e = we
				w += m
			}
		}
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			break
		}
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, in, 0, 0, 0, 0, 0)
	if e == 0 {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_FCHMOD, out, uintptr(s.mode), 0, 0, 0, 0); e != 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, out, 0, 0, 0, 0, 0)
			return stChmod, e
		}
	}
	if _, _, ce := syscall.RawSyscall6(syscall.SYS_CLOSE, out, 0, 0, 0, 0, 0); e == 0 {
		e = ce
	}
	return stCopy, e
}

// mask hides s.rel inside rootFD (the current root), or makes it
// read-only; a path that does not exist is left alone.
//
//go:nosplit
//go:norace
func (l *launch) mask(s *step, rootFD uintptr) (stage, syscall.Errno) {
	sc := &l.scratch
	fd, e := l.openInRoot(rootFD, ptr(s.rel), unix.O_PATH)
	if e == syscall.ENOENT {
		return stStep, 0
	}
	if e != 0 {
		return stPin, e
	}
	target := l.fdPath(fd)
	switch {
	case s.readOnly:
		// A bind onto itself, so that the remount changes that mount
		// only; the remount keeps the flags the path had (a user
		// namespace may not clear them).
		if _, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, target, target, 0, syscall.MS_BIND|syscall.MS_REC, 0, 0); e == 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			if fd, e = l.openInRoot(rootFD, ptr(s.rel), unix.O_PATH); e != 0 {
				return stPin, e
			}
			target = l.fdPath(fd)
			_, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, 0, target, 0, syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|keptMountFlags(target, sc), 0, 0)
		}
	default:
		if _, _, e = syscall.RawSyscall6(unix.SYS_STATX, fd, uintptr(unsafe.Pointer(&empty[0])), unix.AT_EMPTY_PATH, unix.STATX_TYPE, uintptr(unsafe.Pointer(&sc.stx)), 0); e != 0 {
			break
		}
		if sc.stx.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			_, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, uintptr(unsafe.Pointer(&tmpfs[0])), target, uintptr(unsafe.Pointer(&tmpfs[0])),
				syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, uintptr(unsafe.Pointer(&maskTmpfsData[0])), 0)
		} else {
			// Under the container's /dev/null (a bind of a file from the
			// old root, detached by pivot_root, would be refused). The
			// target's name is in fdpath; /dev/null's goes in fdpath2.
			var null uintptr
			if null, e = l.openInRoot(rootFD, uintptr(unsafe.Pointer(&devNull[0])), unix.O_PATH); e != 0 {
				syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
				return stDevNull, e
			}
			_, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, l.fdPathIn(&sc.fdpath2, null), target, 0, syscall.MS_BIND, 0, 0)
			syscall.RawSyscall6(syscall.SYS_CLOSE, null, 0, 0, 0, 0, 0)
		}
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	return stStep, e
}

var (
	devNull       = []byte("dev/null\x00")
	tmpfs         = []byte("tmpfs\x00")
	maskTmpfsData = []byte("size=4k,mode=555\x00")
	empty         = []byte("\x00")
)

// keptMountFlags returns the flags a bind remount of the mount at path
// keeps: its nosuid, nodev, noexec, read-only and access-time flags. A
// remount replaces them all, and a user namespace may not clear those it
// inherited (the kernel locks them); none of crun's remounts means to.
//
//go:nosplit
//go:norace
func keptMountFlags(path uintptr, sc *scratch) uintptr {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_STATFS, path, uintptr(unsafe.Pointer(&sc.statfs)), 0, 0, 0, 0); e != 0 {
		return 0 // the remount says why, if it fails
	}
	keep := uintptr(sc.statfs.Flags) & (unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME)
	if sc.statfs.Flags&unix.ST_RELATIME != 0 {
		keep |= syscall.MS_RELATIME
	}
	return keep
}

// setUser changes the process's user and groups, keeping its permitted
// capabilities across the change (a Capabilities step after it decides
// which stay effective).
//
//go:nosplit
//go:norace
func setUser(s *step) (stage, syscall.Errno) {
	groups := uintptr(0)
	if len(s.groups) > 0 {
		groups = uintptr(unsafe.Pointer(&s.groups[0]))
	}
	if !s.keepGroups {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_SETGROUPS, uintptr(len(s.groups)), groups, 0, 0, 0, 0); e != 0 {
			return stSetgroups, e
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_SETRESGID, s.gid, s.gid, s.gid, 0, 0, 0); e != 0 {
		return stSetgid, e
	}
	if s.uid != 0 {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_KEEPCAPS, 1, 0, 0, 0, 0); e != 0 {
			return stKeepcaps, e
		}
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETRESUID, s.uid, s.uid, s.uid, 0, 0, 0)
	return stSetuid, e
}

// setCapabilities cuts the bounding set, sets the effective, permitted
// and inheritable sets, and makes the ambient set exactly the one asked
// for, in that order: dropping from the bounding set needs CAP_SETPCAP,
// which the new sets may not hold. It returns the capability that
// failed, as arg.
//
//go:nosplit
//go:norace
func setCapabilities(c *capabilities, sc *scratch) (stage, syscall.Errno, uint32) {
	// After a user change (keepcaps) the permitted set is whole but the
	// effective one empty: make it whole again, for CAP_SETPCAP.
	sc.capHeader = c.header
	if _, _, e := syscall.RawSyscall6(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&sc.capHeader)), uintptr(unsafe.Pointer(&sc.capData[0])), 0, 0, 0, 0); e != 0 {
		return stCapset, e, 0
	}
	sc.capData[0].Effective, sc.capData[1].Effective = sc.capData[0].Permitted, sc.capData[1].Permitted
	if _, _, e := syscall.RawSyscall6(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&sc.capHeader)), uintptr(unsafe.Pointer(&sc.capData[0])), 0, 0, 0, 0); e != 0 {
		return stCapset, e, 0
	}
	for cp := uintptr(0); cp <= c.lastCap; cp++ {
		if c.bounding&(1<<cp) == 0 {
			if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, cp, 0, 0, 0, 0); e != 0 {
				return stCapBound, e, uint32(cp)
			}
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&c.header)), uintptr(unsafe.Pointer(&c.data[0])), 0, 0, 0, 0); e != 0 {
		return stCapset, e, 0
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); e != 0 && c.ambient != 0 {
		return stAmbient, e, 0
	}
	for cp := uintptr(0); cp <= c.lastCap; cp++ {
		if c.ambient&(1<<cp) != 0 {
			if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, cp, 0, 0, 0); e != 0 {
				return stAmbient, e, uint32(cp)
			}
		}
	}
	return stStep, 0, 0
}

// forkCommand forks the command's process, for crun's init to stay as
// PID 1: it returns 0 in that process, its pid in the init.
//
//go:nosplit
//go:norace
func (l *launch) forkCommand() uintptr {
	pid, e := forkProcess(0)
	if e != 0 {
		l.fail(0, stFork, e, 0)
	}
	return pid
}

// supervise is crun's init as PID 1, once the command runs as its
// child: it passes on the signals crun forwards, reaps every process that
// ends up as its child, and exits with the command's status (128+N when
// killed by signal N). Signals stay blocked and are taken one by one,
// so that no handler runs here; as blocked signals they also reach PID 1,
// which the kernel would otherwise spare those it has no handler for.
//
//go:nosplit
//go:norace
func (l *launch) supervise(cmd uintptr) {
	// Keep nothing of crun's open but the command's streams: the last
	// copy of the reports pipe is then the command's (crun reads end of
	// file when it executes), and a plugin's socket ends with crun.
	l.closeRange(3, 1<<32-1)
	sc := &l.scratch
	for {
		sig, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&l.supervised)),
			uintptr(unsafe.Pointer(&sc.info[0])), 0, 8, 0, 0)
		if e != 0 {
			continue // EINTR
		}
		if syscall.Signal(sig) != syscall.SIGCHLD {
			syscall.RawSyscall6(syscall.SYS_KILL, cmd, sig, 0, 0, 0, 0)
			continue
		}
		for {
			pid, _, e := syscall.RawSyscall6(syscall.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&sc.status)), syscall.WNOHANG, 0, 0, 0)
			if e == syscall.EINTR {
				continue
			}
			if e != 0 || pid == 0 {
				break
			}
			if pid != cmd {
				continue // an orphan, reaped
			}
			// Decoded here: syscall.WaitStatus's methods may grow the
			// stack, which this process must never do.
			if sig := sc.status & 0x7f; sig != 0 && sig != 0x7f {
				exit(128 + int(sig))
			}
			exit(int(sc.status>>8) & 0xff)
		}
	}
}

// closeFrom closes every fd from first on but keep.
//
//go:nosplit
//go:norace
func (l *launch) closeFrom(first, keep1, keep2 uintptr) {
	const last = 1<<32 - 1 // close_range's unsigned int
	if keep2 < keep1 {
		keep1, keep2 = keep2, keep1
	}
	lo := first
	if keep1 >= lo && keep1 <= last {
		if keep1 > lo {
			l.closeRange(lo, keep1-1)
		}
		lo = keep1 + 1
	}
	if keep2 >= lo && keep2 <= last {
		if keep2 > lo {
			l.closeRange(lo, keep2-1)
		}
		lo = keep2 + 1
	}
	l.closeRange(lo, last)
}

// closeRange closes the fds from lo to hi.
//
//go:nosplit
//go:norace
func (l *launch) closeRange(lo, hi uintptr) {
	if _, _, e := syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, lo, hi, 0, 0, 0, 0); e == syscall.ENOSYS {
		for fd := lo; fd <= hi && fd < l.maxFD; fd++ { // before Linux 5.9
			syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		}
	}
}

// exec executes the command: the first candidate that is there and
// executable, like a shell's PATH search: candidates that are not there,
// or cannot be reached, are skipped; a file that cannot be executed is
// reported if nothing better comes. The signal mask is crun's own again
// for the execve only: if it fails, no signal may run a handler here.
//
//go:nosplit
//go:norace
func (l *launch) exec() {
	p := l.prog
	if l.fds.exec >= 0 {
		// The file crun passed: no search, nothing of the container's.
		l.report(kindExec, 0, execFromFD)
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&l.sigmask)), 0, 8, 0, 0)
		_, _, e := syscall.RawSyscall6(unix.SYS_EXECVEAT, uintptr(l.fds.exec), uintptr(unsafe.Pointer(&empty[0])),
			uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])), unix.AT_EMPTY_PATH, 0)
		l.fail(0, stExec, e, execFromFD)
	}
	denied := -1
	for i := 0; i < len(p.candidates); i++ {
		c := ptr(p.candidates[i])
		l.report(kindExec, 0, uint32(i))
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&l.sigmask)), 0, 8, 0, 0)
		_, _, e := syscall.RawSyscall6(syscall.SYS_EXECVE, c, uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])), 0, 0, 0)
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&allSignals)), 0, 8, 0, 0)
		_, _, se := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, c, 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&l.scratch.stx)), 0)
		exists := se == 0
		switch {
		case p.explicit && !exists && (e == syscall.ENOENT || e == syscall.ENOTDIR):
			l.fail(0, stNotFound, e, uint32(i))
		case p.explicit || (exists && e != syscall.EACCES):
			// There, and not executable: its interpreter (#!) or
			// loader is missing (ENOENT), not for this machine...
			l.fail(0, stExec, e, uint32(i))
		case exists && denied < 0 && l.scratch.stx.Mode&syscall.S_IFMT != syscall.S_IFDIR:
			denied = i
		}
	}
	if denied >= 0 {
		l.fail(0, stExec, syscall.EACCES, uint32(denied))
	}
	l.fail(0, stNotFound, syscall.ENOENT, 0)
}
