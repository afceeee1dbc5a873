//go:build linux && !s390x

package spawn

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The child's code. Every function here runs between fork and exec, in a
// copy of crun with one thread: each is nosplit (the runtime set the
// stack guard so that growing the stack crashes) and only makes raw
// system calls, reads the Program, and writes numbers into its scratch
// memory and the Program's attr. None allocates or writes a pointer.

// supported: clone(2)'s arguments are (flags, stack, ...) here; s390x
// swaps the first two.
const supported = true

// Runtime hooks around a fork, as syscall.forkExec uses them. Linked by
// name: the runtime exports them for this (go.dev/issue/67401).
//
//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// fork clones the child, which never returns from here. With vfork set
// the child borrows crun's memory (CLONE_VM) and this thread waits until
// it executes the command or exits (CLONE_VFORK): no page tables are
// copied, and crun does not pay for copy-on-write faults afterwards.
// Everything the parent does after the clone is only a return; the child
// may have written over this frame's variables (syscall.forkExec is
// built the same way).
//
//go:noinline
//go:norace
//go:nocheckptr
func (p *Program) fork(clone3 *cloneArgs, vfork bool) (pid uintptr, errno syscall.Errno) {
	flags := p.cloneFlags | uintptr(syscall.SIGCHLD) | syscall.CLONE_PARENT_SETTID
	if clone3 != nil {
		clone3.flags |= syscall.CLONE_PARENT_SETTID
		clone3.parentTID = uint64(uintptr(unsafe.Pointer(&p.pid)))
	}
	if vfork {
		flags |= syscall.CLONE_VM | syscall.CLONE_VFORK
		if clone3 != nil {
			clone3.flags |= syscall.CLONE_VM | syscall.CLONE_VFORK
		}
	}
	runtime_BeforeFork()
	if clone3 != nil {
		pid, errno = rawVfork(unix.SYS_CLONE3, uintptr(unsafe.Pointer(clone3)), unsafe.Sizeof(*clone3), 0)
	} else {
		// clone(flags, stack, parent_tid, ...) on every architecture
		// built here.
		pid, errno = rawVfork(syscall.SYS_CLONE, flags, 0, uintptr(unsafe.Pointer(&p.pid)))
	}
	if errno != 0 || pid != 0 {
		runtime_AfterFork()
		return pid, errno
	}
	p.child()
	return 0, 0
}

// child is the forked child: terminal, go-ahead, steps, file
// descriptors, exec.
//
//go:nosplit
//go:norace
func (p *Program) child() {
	a := &p.attr
	var e syscall.Errno
	// Signals stay blocked until the terminal is the child's: a process
	// group in the background that sets the foreground gets SIGTTOU.
	if a.setpgid || a.terminal >= 0 {
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETPGID, 0, 0, 0); e != 0 {
			p.fail(0, stTerminal, e, 0)
		}
	}
	if a.terminal >= 0 {
		pid, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		p.scratch.pgrp = int32(pid)
		if _, _, e = syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(a.terminal), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p.scratch.pgrp))); e != 0 {
			p.fail(0, stTerminal, e, 0)
		}
	}
	runtime_AfterForkInChild()
	// The container does not outlive a killed crun.
	if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); e != 0 {
		p.fail(0, stPdeathsig, e, 0)
	}
	if a.release >= 0 {
		n, _, _ := syscall.RawSyscall(syscall.SYS_READ, uintptr(a.release), uintptr(unsafe.Pointer(&p.scratch.one[0])), 1)
		if n != 1 {
			// crun gave up on this container: nobody to report to.
			exit(ExitCrunFailed)
		}
	}
	if a.trace {
		p.report(kindStart, 0, 0, 0, 0)
	}
	for i := 0; i < len(p.steps); i++ {
		s := &p.steps[i]
		p.runStep(s)
		if a.trace {
			p.report(kindDone, s.index, 0, 0, 0)
		}
	}
	if a.restoreNofile {
		syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&a.nofile)), 0, 0, 0)
	}
	p.moveFDs()
	p.exec()
}

// fail reports a failed system call and exits.
//
//go:nosplit
//go:norace
func (p *Program) fail(step uint32, st stage, e syscall.Errno, arg uint32) {
	p.report(kindFail, step, st, uint32(e), arg)
	exit(ExitCrunFailed)
}

// report writes one record to the parent.
//
//go:nosplit
//go:norace
func (p *Program) report(k kind, step uint32, st stage, e uint32, arg uint32) {
	r := &p.scratch.rec
	r.Kind, r.Step, r.Stage, r.Errno, r.Arg = uint32(k), step, uint32(st), e, arg
	r.Time = 0
	if p.attr.trace {
		syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&p.scratch.ts)), 0)
		r.Time = p.scratch.ts.Sec*1e9 + p.scratch.ts.Nsec
	}
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p.attr.reports), uintptr(unsafe.Pointer(r)), unsafe.Sizeof(*r))
}

//go:nosplit
//go:norace
func exit(code int) {
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, uintptr(code), 0, 0)
	}
}

//go:nosplit
func ptr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

//go:nosplit
//go:norace
func closeFD(fd uintptr) { syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0) }

// runStep performs one step, or reports its failure and exits.
//
//go:nosplit
//go:norace
func (p *Program) runStep(s *step) {
	var e syscall.Errno
	switch s.op {
	case opMount:
		p.mount(s)
		return
	case opSethostname:
		_, _, e = syscall.RawSyscall(syscall.SYS_SETHOSTNAME, ptr(s.source), uintptr(len(s.source)), 0)
	case opMkdir:
		p.mkdirAll(s, atFDCWD, false, uint32(s.mode))
		return
	case opSymlink:
		p.symlink(s)
		return
	case opChdir:
		_, _, e = syscall.RawSyscall(syscall.SYS_CHDIR, ptr(s.path), 0, 0)
	case opChroot:
		if _, _, e = syscall.RawSyscall(syscall.SYS_CHROOT, ptr(s.path), 0, 0); e == 0 {
			_, _, e = syscall.RawSyscall(syscall.SYS_CHDIR, ptr(slash), 0, 0)
		}
	case opPivotRoot:
		p.pivotRoot(s)
		return
	case opJoinCgroup:
		p.joinCgroup(s)
		return
	case opCopyFile:
		p.copyFile(s)
		return
	}
	if e != 0 {
		p.fail(s.index, stStep, e, 0)
	}
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uintptr(99)

var (
	slash = []byte("/\x00")
	dot   = []byte(".\x00")
	zero  = []byte("0")

	procSelfFD = "/proc/self/fd/"
)

// openRoot opens a step's root.
//
//go:nosplit
//go:norace
func (p *Program) openRoot(s *step) uintptr {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, ptr(s.root), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		p.fail(s.index, stOpenRoot, e, 0)
	}
	return fd
}

// openInRoot opens path inside the root rootFD, resolved as if it were
// "/" (symlinks and ".." cannot lead out of it).
//
//go:nosplit
//go:norace
func (p *Program) openInRoot(rootFD uintptr, path []byte, flags uint64) (uintptr, syscall.Errno) {
	h := &p.scratch.how
	h.Flags, h.Mode, h.Resolve = flags|unix.O_CLOEXEC, 0, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, rootFD, ptr(path), uintptr(unsafe.Pointer(h)), unsafe.Sizeof(*h), 0, 0)
	return fd, e
}

// mount performs a mount step: the target, resolved inside the root and
// pinned by an open file, is created first if asked.
//
//go:nosplit
//go:norace
func (p *Program) mount(s *step) {
	target := ptr(s.path)
	var rootFD, fd uintptr
	var e syscall.Errno
	if s.root != nil {
		rootFD = p.openRoot(s)
		fd, e = p.openInRoot(rootFD, s.rel, unix.O_PATH)
		if e == syscall.ENOENT && s.create != createNone {
			p.mkdirAll(s, rootFD, p.createsFile(s), 0o755)
			fd, e = p.openInRoot(rootFD, s.rel, unix.O_PATH)
		}
		closeFD(rootFD)
		if e != 0 {
			p.fail(s.index, stPin, e, 0)
		}
		target = p.fdPath(fd)
	} else if s.create != createNone {
		p.mkdirAll(s, atFDCWD, p.createsFile(s), 0o755)
	}
	_, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, ptr(s.source), target, ptr(s.fstype), s.flags, ptr(s.data), 0)
	if s.root != nil {
		closeFD(fd)
	}
	if e != 0 {
		p.fail(s.index, stStep, e, 0)
	}
}

// createsFile tells whether a missing bind target must be a file: its
// source is not a directory.
//
//go:nosplit
//go:norace
func (p *Program) createsFile(s *step) bool {
	if s.create != createLikeSource {
		return s.create == createFile
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, ptr(s.source), 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&p.scratch.stx)), 0)
	if e != 0 {
		p.fail(s.index, stBindSource, e, 0)
	}
	return p.scratch.stx.Mode&syscall.S_IFMT != syscall.S_IFDIR
}

// mkdirAll creates what is missing of s.dirs, inside rootFD when the
// step has a root; the last entry is an empty file when file is set.
//
//go:nosplit
//go:norace
func (p *Program) mkdirAll(s *step, rootFD uintptr, file bool, mode uint32) {
	for i := 0; i < len(s.dirs); i++ {
		d := &s.dirs[i]
		last := i == len(s.dirs)-1
		dirFD := atFDCWD
		if s.root != nil {
			fd, e := p.openInRoot(rootFD, d.path, unix.O_PATH)
			if e == 0 {
				closeFD(fd)
				continue
			}
			if e != syscall.ENOENT {
				p.fail(s.index, stCreate, e, uint32(i))
			}
			if dirFD, e = p.openInRoot(rootFD, d.parent, unix.O_PATH|unix.O_DIRECTORY); e != 0 {
				p.fail(s.index, stCreate, e, uint32(i))
			}
		}
		name := ptr(d.path)
		if s.root != nil {
			name = ptr(d.base)
		}
		var e syscall.Errno
		if last && file {
			var fd uintptr
			fd, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, dirFD, name, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644, 0, 0)
			if e == 0 {
				closeFD(fd)
			}
		} else {
			_, _, e = syscall.RawSyscall(syscall.SYS_MKDIRAT, dirFD, name, uintptr(mode))
			if e == syscall.EEXIST {
				e = 0
			}
		}
		if s.root != nil {
			closeFD(dirFD)
		}
		if e != 0 {
			p.fail(s.index, stCreate, e, uint32(i))
		}
	}
}

// fdPath writes "/proc/self/fd/N" into the scratch memory: the name of
// an open file that mount(2) resolves in one go.
//
//go:nosplit
//go:norace
func (p *Program) fdPath(fd uintptr) uintptr {
	b := &p.scratch.fdpath
	n := 0
	for ; n < len(procSelfFD); n++ {
		b[n] = procSelfFD[n]
	}
	var digits [20]byte
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
func (p *Program) symlink(s *step) {
	_, _, e := syscall.RawSyscall(syscall.SYS_SYMLINKAT, ptr(s.source), atFDCWD, ptr(s.path))
	if e == syscall.EEXIST {
		b := &p.scratch.link
		n, _, re := syscall.RawSyscall6(syscall.SYS_READLINKAT, atFDCWD, ptr(s.path), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0)
		if re == 0 && int(n) == len(s.source)-1 {
			same := true
			for i := 0; i < int(n); i++ {
				if b[i] != s.source[i] {
					same = false
					break
				}
			}
			if same {
				return
			}
		}
	}
	if e != 0 {
		p.fail(s.index, stStep, e, 0)
	}
}

// pivotRoot makes s.path the root and detaches the old one, as
// crun-init does: pivot_root(".", ".") stacks the old root on the new
// one, and unmounting "." removes it.
//
//go:nosplit
//go:norace
func (p *Program) pivotRoot(s *step) {
	if _, _, e := syscall.RawSyscall(syscall.SYS_CHDIR, ptr(s.path), 0, 0); e != 0 {
		p.fail(s.index, stChdir, e, 0)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PIVOT_ROOT, ptr(dot), ptr(dot), 0); e != 0 {
		p.fail(s.index, stPivot, e, 0)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_UMOUNT2, ptr(dot), syscall.MNT_DETACH, 0); e != 0 {
		p.fail(s.index, stDetach, e, 0)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_CHDIR, ptr(slash), 0, 0); e != 0 {
		p.fail(s.index, stStep, e, 0)
	}
}

// joinCgroup writes "0" to a cgroup v1 tasks file: the writing thread,
// the one that executes the command, moves itself.
//
//go:nosplit
//go:norace
func (p *Program) joinCgroup(s *step) {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, ptr(s.path), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		p.fail(s.index, stOpen, e, 0)
	}
	_, _, e = syscall.RawSyscall(syscall.SYS_WRITE, fd, ptr(zero), 1)
	closeFD(fd)
	if e != 0 {
		p.fail(s.index, stWrite, e, 0)
	}
}

// copyFile copies a host file into the container (a secret into a
// tmpfs): the target is resolved inside the root, created without
// following a symlink, and given its mode whatever the umask.
//
//go:nosplit
//go:norace
func (p *Program) copyFile(s *step) {
	in, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, ptr(s.source), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		p.fail(s.index, stOpenSource, e, 0)
	}
	dirFD, name := atFDCWD, ptr(s.path)
	var rootFD uintptr
	if s.root != nil {
		rootFD = p.openRoot(s)
	}
	p.mkdirAll(s, rootFD, false, 0o755)
	if s.root != nil {
		if dirFD, e = p.openInRoot(rootFD, s.parent, unix.O_PATH|unix.O_DIRECTORY); e != 0 {
			p.fail(s.index, stOpenTarget, e, 0)
		}
		closeFD(rootFD)
		name = ptr(s.base)
	}
	out, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, dirFD, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, uintptr(s.mode), 0, 0)
	if s.root != nil {
		closeFD(dirFD)
	}
	if e != 0 {
		p.fail(s.index, stOpenTarget, e, 0)
	}
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDFILE, out, in, 0, 1<<30, 0, 0)
		if e != 0 {
			p.fail(s.index, stCopy, e, 0)
		}
		if n == 0 {
			break
		}
	}
	if _, _, e = syscall.RawSyscall(syscall.SYS_FCHMOD, out, uintptr(s.mode), 0); e != 0 {
		p.fail(s.index, stChmod, e, 0)
	}
	closeFD(in)
	if _, _, e = syscall.RawSyscall(syscall.SYS_CLOSE, out, 0, 0); e != 0 {
		p.fail(s.index, stCopy, e, 0)
	}
}

// moveFDs gives the command its standard streams as fds 0, 1 and 2, as
// syscall.forkExec does: first every fd that a lower slot would
// overwrite moves up, then each goes to its slot, without close-on-exec.
//
//go:nosplit
//go:norace
func (p *Program) moveFDs() {
	a := &p.attr
	next := a.nextFD
	if a.reports < 3 {
		if _, _, e := syscall.RawSyscall(syscall.SYS_DUP3, uintptr(a.reports), uintptr(next), syscall.O_CLOEXEC); e != 0 {
			p.fail(0, stStdio, e, 0)
		}
		a.reports = next
		next++
	}
	for i := 0; i < 3; i++ {
		if fd := a.stdio[i]; fd < i {
			if _, _, e := syscall.RawSyscall(syscall.SYS_DUP3, uintptr(fd), uintptr(next), syscall.O_CLOEXEC); e != 0 {
				p.fail(0, stStdio, e, uint32(i))
			}
			a.stdio[i] = next
			next++
		}
	}
	for i := 0; i < 3; i++ {
		fd := a.stdio[i]
		var e syscall.Errno
		if fd == i {
			_, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0)
		} else {
			_, _, e = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(fd), uintptr(i), 0)
		}
		if e != 0 {
			p.fail(0, stStdio, e, uint32(i))
		}
	}
}

// exec executes the command: the first candidate that is there and
// executable, like a shell's PATH search.
//
//go:nosplit
//go:norace
func (p *Program) exec() {
	denied := -1
	for i := 0; i < len(p.candidates); i++ {
		c := ptr(p.candidates[i])
		p.report(kindExec, 0, 0, 0, uint32(i))
		_, _, e := syscall.RawSyscall(syscall.SYS_EXECVE, c, uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])))
		switch e {
		case syscall.ENOENT, syscall.ENOTDIR:
			if p.exists(c) {
				// There, but its interpreter (#!) or loader is not.
				p.fail(0, stExec, e, uint32(i))
			}
			if p.explicit {
				p.fail(0, stNotFound, e, uint32(i))
			}
		case syscall.EACCES:
			if p.explicit {
				p.fail(0, stExec, e, uint32(i))
			}
			// A directory on the way is skipped; a file that cannot be
			// executed is reported if nothing better comes.
			if !p.isDir(c) && denied < 0 {
				denied = i
			}
		default:
			p.fail(0, stExec, e, uint32(i))
		}
	}
	if denied >= 0 {
		p.fail(0, stExec, syscall.EACCES, uint32(denied))
	}
	p.fail(0, stNotFound, syscall.ENOENT, 0)
}

//go:nosplit
//go:norace
func (p *Program) exists(path uintptr) bool {
	_, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, path, 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&p.scratch.stx)), 0)
	return e == 0
}

//go:nosplit
//go:norace
func (p *Program) isDir(path uintptr) bool {
	return p.exists(path) && p.scratch.stx.Mode&syscall.S_IFMT == syscall.S_IFDIR
}
