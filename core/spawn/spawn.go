// Package spawn starts a container with one Go program, not two: crun
// forks, and the child, a copy of crun with a single thread, performs the
// plan's steps as system calls and executes the command. It is what
// syscall.ForkExec does with its SysProcAttr (setpgid, chroot, dup2),
// with the plan's steps in their place.
//
// Between the fork and the exec the child must not allocate, take a lock,
// grow its stack or call into the Go runtime: it has one thread of a
// program that had several, and the runtime's state belongs to threads
// that are not there. So Compile prepares everything in the parent, before
// the fork: every path as NUL-terminated bytes, mount flags as numbers,
// the command's candidate paths along the container's PATH. The child's
// code (child.go) only walks that data, making raw system calls from
// nosplit functions, and reports to the parent through a pipe in
// fixed-size records: each step done (with --trace), the exec about to
// happen, or the system call that failed.
//
// crun-init (core/child), a Go program that receives the plan over a
// socket, runs the plans this cannot: those whose init stays as PID 1
// (pid.init=true), and those without a mount namespace, whose mounts and
// mount points the parent must record on the host as they are made.
// Compile says why a plan is one of those. Starting a second Go runtime
// costs 0.6-0.9 ms on the machines this was measured on; a fork, about
// 0.1 ms.
//
// The shared memory has a price: until the child executes the command,
// the thread that cloned it waits, holding its P, and the Go runtime
// cannot stop the world. Steps take microseconds, but one can block (a
// FIFO as a copy's source, a hung file system). So no garbage collection
// starts meanwhile (Start turns it off around the clone), signals are
// handled from before the clone on another thread, which can kill the
// child (core's abandonSetup, through Pid), and with a single P the child
// gets a copy of crun's memory instead. os/exec shares memory the same
// way, for a child that does less.
package spawn

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/child"
	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// Program is a plan compiled for the forked child.
type Program struct {
	plan  *plan.Plan
	steps []step
	// candidates are the paths the command may be at, in the order the
	// child tries them (its PATH, or the one path given with a slash).
	candidates [][]byte
	explicit   bool // the command was named with a slash
	argv, envv []*byte
	cloneFlags uintptr
	// Start's, for the child: see attr.
	attr attr
	// scratch is memory the child writes (its copy of it).
	scratch *scratch
	// pid is the child's, written by the kernel at the clone
	// (CLONE_PARENT_SETTID), before Start returns: see Pid.
	pid int32
}

// Pid returns the child's pid once the kernel has cloned it, 0 before.
// Start returns only once the child has executed the command or failed
// (the thread that clones waits, CLONE_VFORK); meanwhile, this is how
// another goroutine can kill a child whose step hangs.
func (p *Program) Pid() int { return int(atomic.LoadInt32(&p.pid)) }

// opcode is what a compiled step does.
type opcode uint8

const (
	opMount opcode = iota + 1
	opSethostname
	opMkdir
	opSymlink
	opChdir
	opChroot
	opPivotRoot
	opJoinCgroup
	opCopyFile
)

// createKind says how a missing mount target is made.
type createKind uint8

const (
	createNone createKind = iota
	createDir
	createLikeSource // a file or a directory, as the bind source is
)

// step is one plan step, with everything the child needs as bytes.
type step struct {
	op    opcode
	index uint32 // 1-based, in plan.Steps
	// path is the step's path: mount target (without root), chdir,
	// chroot, pivot_root, symlink's link, cgroup tasks file.
	path []byte
	// root and rel: a path resolved inside root (openat2
	// RESOLVE_IN_ROOT), rel being the path relative to it: a mount
	// target with a root, a path to create ("/" is the root when the
	// step has none), a copy's target.
	root, rel []byte
	// pin: mount on the target opened inside root, not on path.
	pin bool
	// source: mount source, symlink target, copy source.
	source       []byte
	fstype, data []byte
	flags        uintptr
	mode         uint32 // mkdir, copy: permission bits
	create       createKind
}

// cloneArgs is struct clone_args (clone3(2)).
type cloneArgs struct {
	flags      uint64
	pidFD      uint64
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64
	stackSize  uint64
	tls        uint64
	setTID     uint64
	setTIDSize uint64
	cgroup     uint64
}

// attr is what Start set for the child: file descriptors as numbers.
type attr struct {
	parentEnds    [2]int // crun's ends of the pipes, which the child closes
	stdio         [3]int
	terminal      int // make the child's group its foreground group, or -1
	release       int // read a byte from it before the steps, or -1
	reports       int
	nextFD        int // above every fd the child moves
	trace         bool
	nofile        unix.Rlimit // restored before exec when restoreNofile
	restoreNofile bool
}

// scratch is memory the child writes to (its copy of it).
type scratch struct {
	rec    record
	ts     unix.Timespec
	stx    unix.Statx_t
	how    unix.OpenHow
	fdpath [32]byte
	digits [20]byte
	path   [maxPath]byte // a path being created, as symlinks are followed
	tmp    [maxPath]byte
	link   [maxPath]byte
	buf    [16 << 10]byte // a copy's data, when sendfile cannot
	pgrp   int32
	one    [1]byte
}

// maxPath is PATH_MAX, with its NUL: the size of the child's buffers.
const maxPath = 4096

// cstr returns s as NUL-terminated bytes.
func cstr(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// openat2Works reports, once, whether the kernel has openat2 (5.6): the
// child resolves targets inside the root with it.
var openat2Works = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
})

// Compile prepares p for the forked child. It returns an error when p
// needs crun-init (the error says why) or cannot be compiled; crun-init
// then runs it, and reports any error in the plan the usual way.
func Compile(p *plan.Plan) (*Program, error) {
	switch {
	case !supported:
		return nil, errors.New("this architecture needs crun-init")
	case p.ReapingInit:
		return nil, errors.New("crun's init stays as the first process (pid.init=true)")
	case !p.Has(spec.NamespaceMount):
		return nil, errors.New("without a mount namespace, crun follows the mounts made on the host")
	case len(p.Command) == 0:
		return nil, errors.New("the plan has no command")
	case !openat2Works():
		return nil, errors.New("the kernel has no openat2 (Linux 5.6)")
	}
	prog := &Program{plan: p, cloneFlags: child.CloneFlags(p.Namespaces), scratch: new(scratch)}
	rootSwitched := false
	for i, s := range p.Steps {
		st, err := compileStep(s.Step, rootSwitched)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		if len(st.rel) >= maxPath || len(st.path) >= maxPath {
			return nil, fmt.Errorf("step %d: a path is longer than the kernel takes", i+1)
		}
		st.index = uint32(i + 1)
		prog.steps = append(prog.steps, st)
		if s.PivotRoot != nil || s.Chroot != nil {
			rootSwitched = true
		}
	}
	name := p.Command[0]
	if strings.Contains(name, "/") {
		prog.explicit = true
		prog.candidates = [][]byte{cstr(name)}
	} else {
		for _, d := range filepath.SplitList(child.EnvValue(p.Env, "PATH")) {
			if d == "" {
				d = "."
			}
			prog.candidates = append(prog.candidates, cstr(filepath.Join(d, name)))
		}
	}
	var err error
	if prog.argv, err = syscall.SlicePtrFromStrings(p.Command); err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	if prog.envv, err = syscall.SlicePtrFromStrings(p.Env); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	return prog, nil
}

func compileStep(s spec.Step, rootSwitched bool) (step, error) {
	switch {
	case s.Mount != nil:
		return compileMount(s.Mount, rootSwitched)
	case s.Sethostname != nil:
		return step{op: opSethostname, source: []byte(s.Sethostname.Hostname)}, nil
	case s.Mkdir != nil:
		mode := s.Mkdir.Mode
		if mode == 0 {
			mode = 0o755
		}
		// Permission bits only, as crun-init's os.MkdirAll takes them.
		return step{op: opMkdir, path: cstr(s.Mkdir.Path), root: cstr("/"), rel: cstr(relative(s.Mkdir.Path)), mode: mode & 0o777}, nil
	case s.Symlink != nil:
		return step{op: opSymlink, source: cstr(s.Symlink.Target), path: cstr(s.Symlink.Link)}, nil
	case s.Chdir != nil:
		return step{op: opChdir, path: cstr(s.Chdir.Path)}, nil
	case s.Chroot != nil:
		return step{op: opChroot, path: cstr(s.Chroot.Path)}, nil
	case s.PivotRoot != nil:
		return step{op: opPivotRoot, path: cstr(s.PivotRoot.Path)}, nil
	case s.JoinCgroup != nil:
		return step{op: opJoinCgroup, path: cstr(filepath.Join(s.JoinCgroup.Path, "tasks"))}, nil
	case s.CopyFile != nil:
		c := s.CopyFile
		root := c.Root
		if root == "" {
			root = "/"
		}
		return step{op: opCopyFile, source: cstr(c.Source), root: cstr(filepath.Clean(root)),
			rel: cstr(relative(c.Target)), mode: c.Mode & 0o777}, nil
	}
	return step{}, errors.New("unknown step kind")
}

func compileMount(m *spec.Mount, rootSwitched bool) (step, error) {
	flags, err := child.MountFlags(m.Flags)
	if err != nil {
		return step{}, err
	}
	source := m.Source
	if source == "" {
		source = "none" // as crun-init does: mount(8) shows "none"
	}
	st := step{op: opMount, source: cstr(source), fstype: cstr(m.FSType), flags: flags}
	if m.Data != "" {
		st.data = cstr(m.Data)
	}
	switch {
	case m.Root != "":
		st.root, st.rel, st.pin = cstr(filepath.Clean(m.Root)), cstr(relative(m.Target)), true
	case m.CreateTarget && !rootSwitched:
		// A mount point made in the host's tree is a leftover unless
		// crun records it first: crun-init reports each one.
		return step{}, errors.New("it creates a mount point in the host's tree")
	default:
		st.path = cstr(m.Target)
		if m.CreateTarget {
			st.root, st.rel = cstr("/"), cstr(relative(m.Target))
		}
	}
	if m.CreateTarget {
		st.create = createDir
		if slices.Contains(m.Flags, "bind") {
			st.create = createLikeSource
		}
	}
	return st, nil
}

// relative returns path relative to the root it is resolved in ("." for
// the root itself).
func relative(path string) string {
	rel := strings.TrimLeft(filepath.Clean("/"+path), "/")
	if rel == "" {
		rel = "."
	}
	return rel
}
