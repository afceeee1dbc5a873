//go:build linux && amd64

package spawn

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The child's code. It runs between the clone and the exec, in a copy of
// crun with one thread, usually sharing crun's memory. The runtime set
// the stack guard so that growing the stack crashes, so every function
// the child calls is nosplit, and the linker checks that their frames
// fit in the little stack a nosplit chain may use (792 bytes on amd64,
// with frames unoptimised too, as a debugger's build makes them: make
// test builds crun that way). Hence the shape: fork holds the child's
// main line (its own frame is checked before the clone), each helper is
// at most two calls deep, and system calls go through sys6, assembly
// without a frame. Nothing here allocates, locks or writes a pointer:
// the helpers read the Program and write numbers into its scratch memory
// and attr.

// supported: the child's code is written (and tested) for linux/amd64.
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

// sys6 makes a system call (vfork_linux_amd64.s).
func sys6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1 uintptr, errno syscall.Errno)

// rawVfork makes a system call (clone or clone3) after which a child may
// run on the caller's stack while the caller is suspended (CLONE_VM with
// CLONE_VFORK). It keeps its return address in a register across the
// call, so that what the child pushes on the shared stack cannot change
// where the caller returns to. It is how syscall.forkExec starts every
// child; the runtime does not export its own.
func rawVfork(trap, a1, a2, a3 uintptr) (r1 uintptr, errno syscall.Errno)

// fork clones the child, which never returns from here: this function is
// the child's main line, from the terminal to the exec. With vfork set
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
		// clone(flags, stack, parent_tid, child_tid, tls)
		pid, errno = rawVfork(syscall.SYS_CLONE, flags, 0, uintptr(unsafe.Pointer(&p.pid)))
	}
	if errno != 0 || pid != 0 {
		runtime_AfterFork()
		return pid, errno
	}

	// The child.
	a := &p.attr
	var e syscall.Errno
	// crun's ends of the pipes: a child waiting for the go-ahead must
	// read EOF when crun closes its end.
	for i := 0; i < len(a.parentEnds); i++ {
		if fd := a.parentEnds[i]; fd >= 0 {
			sys6(syscall.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
		}
	}
	// Signals stay blocked until the terminal is the child's: a process
	// group in the background that sets the foreground gets SIGTTOU.
	if a.terminal >= 0 {
		// A process group of its own, made the terminal's foreground.
		if _, e = sys6(syscall.SYS_SETPGID, 0, 0, 0, 0, 0, 0); e != 0 {
			p.fail(0, stTerminal, e, 0)
		}
		self, _ := sys6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
		p.scratch.pgrp = int32(self)
		if _, e = sys6(syscall.SYS_IOCTL, uintptr(a.terminal), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p.scratch.pgrp)), 0, 0, 0); e != 0 {
			p.fail(0, stTerminal, e, 0)
		}
	}
	runtime_AfterForkInChild()
	// The container does not outlive a killed crun.
	if _, e = sys6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); e != 0 {
		p.fail(0, stPdeathsig, e, 0)
	}
	if a.release >= 0 {
		n, _ := sys6(syscall.SYS_READ, uintptr(a.release), uintptr(unsafe.Pointer(&p.scratch.one[0])), 1, 0, 0, 0)
		if n != 1 {
			// crun gave up on this container: nobody to report to.
			exit(ExitCrunFailed)
		}
	}
	if a.trace {
		p.report(kindStart, 0, 0)
	}
	for i := 0; i < len(p.steps); i++ {
		s := &p.steps[i]
		// The root the step's paths are resolved in, and what they need
		// created first.
		var rootFD, copyFrom uintptr
		if s.root != nil {
			if rootFD, e = sys6(syscall.SYS_OPENAT, atFDCWD, ptr(s.root), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0); e != 0 {
				p.fail(s.index, stOpenRoot, e, 0)
			}
		}
		switch {
		case s.op == opMkdir:
			p.create(s, rootFD, false, s.mode)
		case s.op == opCopyFile:
			// The source first: nothing is created for a copy that
			// cannot be made.
			if copyFrom, e = sys6(syscall.SYS_OPENAT, atFDCWD, ptr(s.source), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0); e != 0 {
				p.fail(s.index, stOpenSource, e, 0)
			}
			p.create(s, rootFD, true, 0o755)
		case s.create == createDir:
			p.create(s, rootFD, false, 0o755)
		case s.create == createLikeSource:
			// A file for a file, a directory for a directory.
			if _, e = sys6(unix.SYS_STATX, atFDCWD, ptr(s.source), 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&p.scratch.stx)), 0); e != 0 {
				p.fail(s.index, stBindSource, e, 0)
			}
			p.create(s, rootFD, p.scratch.stx.Mode&syscall.S_IFMT != syscall.S_IFDIR, 0o755)
		}
		switch s.op {
		case opMount:
			p.mount(s, rootFD)
		case opSethostname:
			if _, e = sys6(syscall.SYS_SETHOSTNAME, ptr(s.source), uintptr(len(s.source)), 0, 0, 0, 0); e != 0 {
				p.fail(s.index, stStep, e, 0)
			}
		case opSymlink:
			p.symlink(s)
		case opChdir:
			if _, e = sys6(syscall.SYS_CHDIR, ptr(s.path), 0, 0, 0, 0, 0); e != 0 {
				p.fail(s.index, stStep, e, 0)
			}
		case opChroot:
			if _, e = sys6(syscall.SYS_CHROOT, ptr(s.path), 0, 0, 0, 0, 0); e == 0 {
				_, e = sys6(syscall.SYS_CHDIR, ptr(slash), 0, 0, 0, 0, 0)
			}
			if e != 0 {
				p.fail(s.index, stStep, e, 0)
			}
		case opPivotRoot:
			p.pivotRoot(s)
		case opJoinCgroup:
			p.joinCgroup(s)
		case opCopyFile:
			p.copyFile(s, rootFD, copyFrom)
		}
		if s.root != nil {
			sys6(syscall.SYS_CLOSE, rootFD, 0, 0, 0, 0, 0)
		}
		if a.trace {
			p.report(kindDone, s.index, 0)
		}
	}
	if a.restoreNofile {
		sys6(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&a.nofile)), 0, 0, 0)
	}
	p.moveFDs()
	p.exec()
	return 0, 0
}

// fail reports a failed system call and exits.
//
//go:nosplit
//go:norace
func (p *Program) fail(step uint32, st stage, e syscall.Errno, arg uint32) {
	r := &p.scratch.rec
	r.Kind, r.Step, r.Stage, r.Errno, r.Arg, r.Time = uint32(kindFail), step, uint32(st), uint32(e), arg, 0
	sys6(syscall.SYS_WRITE, uintptr(p.attr.reports), uintptr(unsafe.Pointer(r)), unsafe.Sizeof(*r), 0, 0, 0)
	for {
		sys6(syscall.SYS_EXIT_GROUP, ExitCrunFailed, 0, 0, 0, 0, 0)
	}
}

// report writes one record of progress to the parent.
//
//go:nosplit
//go:norace
func (p *Program) report(k kind, step, arg uint32) {
	r := &p.scratch.rec
	r.Kind, r.Step, r.Stage, r.Errno, r.Arg, r.Time = uint32(k), step, 0, 0, arg, 0
	if p.attr.trace {
		ts := &p.scratch.ts
		sys6(syscall.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(ts)), 0, 0, 0, 0)
		r.Time = ts.Sec*1e9 + ts.Nsec
	}
	sys6(syscall.SYS_WRITE, uintptr(p.attr.reports), uintptr(unsafe.Pointer(r)), unsafe.Sizeof(*r), 0, 0, 0)
}

//go:nosplit
//go:norace
func exit(code int) {
	for {
		sys6(syscall.SYS_EXIT_GROUP, uintptr(code), 0, 0, 0, 0, 0)
	}
}

//go:nosplit
func ptr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uintptr(99)

var (
	slash = []byte("/\x00")
	dot   = []byte(".\x00")
	zero  = []byte("0")
)

// openInRoot opens path inside the root rootFD, resolved as if it were
// "/": symlinks and ".." cannot lead out of it.
//
//go:nosplit
//go:norace
func (p *Program) openInRoot(rootFD, path uintptr, flags uint64) (uintptr, syscall.Errno) {
	h := &p.scratch.how
	h.Flags, h.Mode, h.Resolve = flags|unix.O_CLOEXEC, 0, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS
	return sys6(unix.SYS_OPENAT2, rootFD, path, uintptr(unsafe.Pointer(h)), unsafe.Sizeof(*h), 0, 0)
}

// mount performs a mount step, on the target opened inside the root (a
// file that cannot be swapped for a symlink before the mount) when it has
// one.
//
//go:nosplit
//go:norace
func (p *Program) mount(s *step, rootFD uintptr) {
	target := ptr(s.path)
	var fd uintptr
	var e syscall.Errno
	if s.pin {
		if fd, e = p.openInRoot(rootFD, ptr(s.rel), unix.O_PATH); e != 0 {
			p.fail(s.index, stPin, e, 0)
		}
		target = p.fdPath(fd)
	}
	_, e = sys6(syscall.SYS_MOUNT, ptr(s.source), target, ptr(s.fstype), s.flags, ptr(s.data), 0)
	if s.pin {
		sys6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	}
	if e != 0 {
		p.fail(s.index, stStep, e, 0)
	}
}

// create makes what is missing of s.rel inside rootFD: directories, and
// the last component as an empty file when file is set. It resolves
// symlinks inside the root, as crun-init's ResolveInRoot does: a symlink
// whose target is missing (a rootfs's /etc/resolv.conf, often) is
// followed, and its target is what gets created.
//
// The path is rewritten in p.scratch.path as links are followed; each
// component is checked with openat2 (RESOLVE_IN_ROOT) from the root, and
// created relative to its parent, opened the same way.
//
//go:nosplit
//go:norace
func (p *Program) create(s *step, rootFD uintptr, file bool, mode uint32) {
	sc := p.scratch
	path := &sc.path
	if len(s.rel) > len(path) { // Compile refuses these
		p.fail(s.index, stCreate, syscall.ENAMETOOLONG, 0)
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
			return
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
			flags |= unix.O_DIRECTORY // crun-init's MkdirAll: not a directory is an error
		}
		fd, e := p.openInRoot(rootFD, uintptr(unsafe.Pointer(&path[0])), flags)
		if e == 0 {
			sys6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			path[j] = sep
			start = j
			continue
		}
		if e != syscall.ENOENT {
			p.fail(s.index, stCreate, e, 0)
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
			if dirFD, e = p.openInRoot(rootFD, uintptr(unsafe.Pointer(&path[0])), unix.O_PATH|unix.O_DIRECTORY); e != 0 {
				p.fail(s.index, stCreate, e, 0)
			}
			path[end] = '/'
		}
		base := uintptr(unsafe.Pointer(&path[i]))
		if last && file {
			// A copy's target is made with the copy's mode: its content
			// is never readable by others, even for a moment.
			fileMode := uintptr(0o644)
			if s.op == opCopyFile {
				fileMode = uintptr(s.mode)
			}
			fd, e = sys6(syscall.SYS_OPENAT, dirFD, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode, 0, 0)
			if e == 0 {
				sys6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			}
		} else {
			_, e = sys6(syscall.SYS_MKDIRAT, dirFD, base, uintptr(mode), 0, 0, 0)
		}
		if e == syscall.EEXIST {
			// A symlink that leads nowhere (yet): follow it.
			links++
			if links > 40 {
				e = syscall.ELOOP
			} else if m, re := sys6(syscall.SYS_READLINKAT, dirFD, base, uintptr(unsafe.Pointer(&sc.link[0])), uintptr(len(sc.link)), 0, 0); re == 0 {
				if int(m) >= len(sc.link) || !p.followLink(i, j, sep, int(m)) {
					e = syscall.ENAMETOOLONG
				} else {
					e = 0
					j, sep = 0, path[0] // start over on the new path
				}
			}
		}
		if end > 0 {
			sys6(syscall.SYS_CLOSE, dirFD, 0, 0, 0, 0, 0)
		}
		if e != 0 {
			p.fail(s.index, stCreate, e, uint32(boolInt(last && file)))
		}
		path[j] = sep
		start = j
	}
}

// followLink replaces the component path[i:j] (j holds sep, cut to NUL)
// with the symlink target read into scratch.link (n bytes): relative to
// the component's directory, or to the root for an absolute one. It
// returns false, and changes nothing, when the new path would not fit.
//
//go:nosplit
//go:norace
func (p *Program) followLink(i, j int, sep byte, n int) bool {
	sc := p.scratch
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

//go:nosplit
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fdPath writes "/proc/self/fd/N" into the scratch memory: the name of
// an open file that mount(2) resolves in one go.
//
//go:nosplit
//go:norace
func (p *Program) fdPath(fd uintptr) uintptr {
	b, digits := &p.scratch.fdpath, &p.scratch.digits
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
func (p *Program) symlink(s *step) {
	_, e := sys6(syscall.SYS_SYMLINKAT, ptr(s.source), atFDCWD, ptr(s.path), 0, 0, 0)
	if e == syscall.EEXIST {
		b := &p.scratch.link
		n, re := sys6(syscall.SYS_READLINKAT, atFDCWD, ptr(s.path), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0)
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
	if _, e := sys6(syscall.SYS_CHDIR, ptr(s.path), 0, 0, 0, 0, 0); e != 0 {
		p.fail(s.index, stChdir, e, 0)
	}
	if _, e := sys6(syscall.SYS_PIVOT_ROOT, ptr(dot), ptr(dot), 0, 0, 0, 0); e != 0 {
		p.fail(s.index, stPivot, e, 0)
	}
	if _, e := sys6(syscall.SYS_UMOUNT2, ptr(dot), syscall.MNT_DETACH, 0, 0, 0, 0); e != 0 {
		p.fail(s.index, stDetach, e, 0)
	}
	if _, e := sys6(syscall.SYS_CHDIR, ptr(slash), 0, 0, 0, 0, 0); e != 0 {
		p.fail(s.index, stStep, e, 0)
	}
}

// joinCgroup writes "0" to a cgroup v1 tasks file: the writing thread,
// the one that executes the command, moves itself.
//
//go:nosplit
//go:norace
func (p *Program) joinCgroup(s *step) {
	fd, e := sys6(syscall.SYS_OPENAT, atFDCWD, ptr(s.path), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		p.fail(s.index, stOpen, e, 0)
	}
	_, e = sys6(syscall.SYS_WRITE, fd, ptr(zero), 1, 0, 0, 0)
	sys6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	if e != 0 {
		p.fail(s.index, stWrite, e, 0)
	}
}

// copyFile copies a host file (open as in) into the container (a secret
// into a tmpfs): the target, created first (with its directories, as a mount
// target is), is resolved inside the root, and given its mode whatever
// the umask.
//
//go:nosplit
//go:norace
func (p *Program) copyFile(s *step, rootFD, in uintptr) {
	out, e := p.openInRoot(rootFD, ptr(s.rel), unix.O_WRONLY|unix.O_TRUNC)
	if e != 0 {
		p.fail(s.index, stOpenTarget, e, 0)
	}
	buf := &p.scratch.buf
	useSendfile := true
	for {
		var n uintptr
		if useSendfile {
			if n, e = sys6(syscall.SYS_SENDFILE, out, in, 0, 1<<30, 0, 0); e == syscall.EINVAL || e == syscall.ENOSYS {
				useSendfile = false // a pipe, say: read and write
				continue
			}
		} else if n, e = sys6(syscall.SYS_READ, in, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0); e == 0 && n > 0 {
			for w := uintptr(0); w < n && e == 0; {
				var m uintptr
				m, e = sys6(syscall.SYS_WRITE, out, uintptr(unsafe.Pointer(&buf[w])), n-w, 0, 0, 0)
				w += m
			}
		}
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			p.fail(s.index, stCopy, e, 0)
		}
		if n == 0 {
			break
		}
	}
	if _, e = sys6(syscall.SYS_FCHMOD, out, uintptr(s.mode), 0, 0, 0, 0); e != 0 {
		p.fail(s.index, stChmod, e, 0)
	}
	sys6(syscall.SYS_CLOSE, in, 0, 0, 0, 0, 0)
	if _, e = sys6(syscall.SYS_CLOSE, out, 0, 0, 0, 0, 0); e != 0 {
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
		if _, e := sys6(syscall.SYS_DUP3, uintptr(a.reports), uintptr(next), syscall.O_CLOEXEC, 0, 0, 0); e != 0 {
			p.fail(0, stStdio, e, 0)
		}
		a.reports = next
		next++
	}
	for i := 0; i < 3; i++ {
		if fd := a.stdio[i]; fd < i {
			if _, e := sys6(syscall.SYS_DUP3, uintptr(fd), uintptr(next), syscall.O_CLOEXEC, 0, 0, 0); e != 0 {
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
			_, e = sys6(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0, 0, 0, 0)
		} else {
			_, e = sys6(syscall.SYS_DUP3, uintptr(fd), uintptr(i), 0, 0, 0, 0)
		}
		if e != 0 {
			p.fail(0, stStdio, e, uint32(i))
		}
	}
}

// exec executes the command: the first candidate that is there and
// executable, like a shell's PATH search (and crun-init's LookPath):
// candidates that are not there, or cannot be reached, are skipped; a
// file that cannot be executed is reported if nothing better comes.
//
//go:nosplit
//go:norace
func (p *Program) exec() {
	denied := -1
	for i := 0; i < len(p.candidates); i++ {
		c := ptr(p.candidates[i])
		p.report(kindExec, 0, uint32(i))
		_, e := sys6(syscall.SYS_EXECVE, c, uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])), 0, 0, 0)
		_, se := sys6(unix.SYS_STATX, atFDCWD, c, 0, unix.STATX_TYPE, uintptr(unsafe.Pointer(&p.scratch.stx)), 0)
		exists := se == 0
		switch {
		case p.explicit && !exists && (e == syscall.ENOENT || e == syscall.ENOTDIR):
			p.fail(0, stNotFound, e, uint32(i))
		case p.explicit || (exists && e != syscall.EACCES):
			// There, and not executable: its interpreter (#!) or
			// loader is missing (ENOENT), not for this machine...
			p.fail(0, stExec, e, uint32(i))
		case exists && denied < 0 && p.scratch.stx.Mode&syscall.S_IFMT != syscall.S_IFDIR:
			denied = i
		}
	}
	if denied >= 0 {
		p.fail(0, stExec, syscall.EACCES, uint32(denied))
	}
	p.fail(0, stNotFound, syscall.ENOENT, 0)
}
