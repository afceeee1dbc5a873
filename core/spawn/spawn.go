// Package spawn is crun's one executor: it starts the container's first
// process and carries out the plan's child steps in it. Every way a
// container starts goes through it: with or without a mount namespace,
// with crun's init staying as PID 1 (pid.init=true) or not. Each step kind
// is implemented once, in child.go.
//
// # The design, and why
//
// crun forks. The child is a copy of crun made by clone (or clone3) as
// fork(2) makes one: it has memory of its own and one thread, the copy of
// the thread that cloned it. It runs the steps as system calls and
// executes the command; crun, another process, follows it through a pipe
// and stays in control whatever the child does: a step that blocks
// forever, a crash, a signal. crun still hears signals, kills the child,
// times out and cleans up, because nothing of crun waits inside the
// child or shares its memory.
//
// A copy of a Go program with one thread cannot run Go as usual: the
// runtime's other threads, its locks and its scheduler are not there. So
// the child runs only code written for that:
//   - Compile prepares everything in the parent, before the fork: every
//     path as NUL-terminated bytes, flags as numbers, the command's
//     candidate paths along the container's PATH. The child only walks
//     that data.
//   - The child's functions are nosplit (the linker proves that they fit
//     in the stack the goroutine already has: none can grow it), allocate
//     nothing, take no lock and write no pointer. They make system calls
//     with syscall.RawSyscall6, which does not tell the scheduler.
//   - Signals are blocked on the cloning thread just before the clone, so
//     the child starts with every signal blocked, and without crun's
//     handlers (clone3's CLONE_CLEAR_SIGHAND): no handler of crun's ever
//     runs in it. They stay blocked until the exec; the command gets the
//     signal mask crun's thread had, and the default actions (a signal
//     crun ignores stays ignored, as for os/exec's children). A fault in
//     the child (a bug) kills it outright.
//   - No process-wide switch is touched: the parent's runtime goes on as
//     usual while the child runs (it has its own copy of the memory).
//
// The child reports to crun in fixed-size records on a pipe (report.go):
// each step done (with --trace), the exec about to happen, or the system
// call that failed. crun words the failure (failure.go). The pipe is
// close-on-exec: end of file after an exec record means the command runs.
//
// Two other designs were weighed. Sharing crun's memory until the exec
// (a vfork, as os/exec starts its children) saves copying page tables,
// but the cloning thread then waits holding the runtime's attention: a
// step that blocks, with anything that stops the world, freezes crun,
// and a crash in the child corrupts crun. A re-executed init (crun
// started again as its own child, a second Go runtime) is plain Go, but
// costs a runtime's start (0.6-0.9 ms) on every container, and a Go
// program is multi-threaded from its first instruction, so it could
// never join an existing mount or user namespace. The fork's price is
// the copy of crun's page tables, and a fault for each page either side
// writes afterwards: README's Performance section has the figures.
//
// # crun's init as PID 1 (pid.init=true)
//
// After the steps the child forks once more: the grandchild executes the
// command and the child stays as the PID namespace's init. It keeps every
// signal blocked and takes them with rt_sigtimedwait: the ones crun
// forwards go on to the command, SIGCHLD reaps whatever ended (orphans
// too). When the command ends, the init exits with its status (128+N
// when killed by signal N), and the kernel ends what is left in the
// namespace.
//
// # Plans without a mount namespace
//
// Their mounts are the host's. Before each mount that adds to the mount
// table, and before each mount point it makes in the host's tree, the
// child announces the path and waits for crun's acknowledgement: crun
// records it (the state file) before it exists, so that even a crun
// killed at that moment leaves it findable by crun cleanup.
//
// # Joining existing namespaces (crun exec, to come)
//
// The child has one thread, so setns(2) can move it into any namespace,
// the mount and user ones included, which a multi-threaded Go process
// can never enter. crun will open the running container's namespaces
// (/proc/PID/ns/*, or one pidfd) before the fork; the child calls setns on
// each (the user namespace first, to gain its capabilities there), then
// runs its steps (the cgroup, the restrictions). A PID namespace applies
// only to children of the caller: there the child forks once more, as
// the reaping init does, and the grandchild executes the command.
package spawn

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// Program is a plan compiled for the child: plain data it only reads.
type Program struct {
	plan  *plan.Plan
	steps []step
	// candidates are the paths the command may be at, in the order the
	// child tries them (its PATH, or the one path given with a slash).
	candidates [][]byte
	explicit   bool // the command was named with a slash
	argv, envv []*byte
	cloneFlags uint64
	// reapingInit: the child forks the command and stays as PID 1.
	reapingInit bool
	// announces: some step waits for crun's acknowledgement (a mount or
	// mount point on the host that crun records first).
	announces bool

	// Notes are what Compile left out or changed, step by step, for
	// --trace.
	Notes []string
}

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
	opRlimit
	opSetUser
	opCapabilities
	opNoNewPrivs
	opSeccomp
	opMask
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
	// announceMount: crun records the mount before it is made (it is
	// the host's: the plan has no mount namespace).
	announceMount bool
	// announceCreate: crun records each mount point made, before it
	// exists (it is in the host's tree).
	announceCreate bool
	// ifExists: a mount skipped when its source or target is missing.
	ifExists bool

	// The restrict phase's: a resource and its limits; a user; the
	// capability sets; a seccomp program.
	readOnly bool // mask: read-only rather than hidden
	resource int
	rlim     unix.Rlimit
	uid, gid uintptr
	groups   []uint32
	// keepGroups: set_user leaves the supplementary groups alone.
	keepGroups bool
	caps       *capabilities
	seccomp    *seccompProgram
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
// child resolves paths inside a root with it.
var openat2Works = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
})

// Compile prepares p for the child. Its errors name the plugin and step
// that cannot be carried out, before anything exists.
func Compile(p *plan.Plan) (*Program, error) {
	if len(p.Command) == 0 {
		return nil, errors.New("the plan has no command")
	}
	prog := &Program{plan: p, cloneFlags: uint64(CloneFlags(p.Namespaces)), reapingInit: p.ReapingInit}
	hostMounts := !p.Has(spec.NamespaceMount)
	rootSwitched := false
	for i, s := range p.Steps {
		st, err := compileStep(s.Step)
		if err == nil && (len(st.rel) >= maxPath || len(st.path) >= maxPath) {
			err = errors.New("a path is longer than the kernel takes (PATH_MAX)")
		}
		if err == nil && st.root != nil && !openat2Works() {
			err = errors.New("it resolves a path inside a root, which needs openat2: crun needs Linux 5.6 or later")
		}
		if err != nil {
			return nil, fmt.Errorf("plugin %q: step %d (%s): %w", s.Plugin, i+1, plan.DescribeStep(s.Step), err)
		}
		st.index = uint32(i + 1)
		if st.seccomp != nil {
			for _, w := range st.seccomp.warnings {
				prog.Notes = append(prog.Notes, fmt.Sprintf("step %d (%s): %s", i+1, s.Plugin, w))
			}
		}
		if m := s.Mount; m != nil {
			st.announceMount = hostMounts && m.AddsMount()
			// A mount point made in the host's tree is a leftover
			// unless crun records it, also inside a named root (the
			// rootfs, before the switch: the child tells whether it
			// is on the root's own mount); after the root switch it
			// is the container's.
			st.announceCreate = m.CreateTarget && !rootSwitched
		}
		prog.announces = prog.announces || st.announceMount || st.announceCreate
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
		for _, d := range filepath.SplitList(EnvValue(p.Env, "PATH")) {
			if d == "" {
				d = "."
			}
			prog.candidates = append(prog.candidates, cstr(filepath.Join(d, name)))
		}
	}
	for _, list := range [][]string{p.Command, p.Env} {
		for _, a := range list {
			if strings.IndexByte(a, 0) >= 0 {
				return nil, fmt.Errorf("the command or its environment has a NUL byte: %q", a)
			}
		}
	}
	prog.pack()
	return prog, nil
}

// pack moves every byte string the child reads into one allocation, in
// the order the child reads them, and makes argv and envv point into it:
// the child's memory is a copy whose every page costs a fault on first
// touch, and small allocations lie scattered over many pages.
func (p *Program) pack() {
	var fields []*[]byte
	for i := range p.steps {
		s := &p.steps[i]
		fields = append(fields, &s.path, &s.root, &s.rel, &s.source, &s.fstype, &s.data)
	}
	for i := range p.candidates {
		fields = append(fields, &p.candidates[i])
	}
	size := 0
	for _, f := range fields {
		size += len(*f)
	}
	for _, list := range [][]string{p.plan.Command, p.plan.Env} {
		for _, a := range list {
			size += len(a) + 1
		}
	}
	arena := make([]byte, 0, size)
	for _, f := range fields {
		if *f != nil {
			start := len(arena)
			arena = append(arena, *f...)
			*f = arena[start:len(arena):len(arena)]
		}
	}
	pointers := func(list []string) []*byte {
		ptrs := make([]*byte, len(list)+1) // NULL-terminated
		for i, a := range list {
			start := len(arena)
			arena = append(append(arena, a...), 0)
			ptrs[i] = &arena[start]
		}
		return ptrs
	}
	p.argv, p.envv = pointers(p.plan.Command), pointers(p.plan.Env)
}

func compileStep(s spec.Step) (step, error) {
	switch {
	case s.Mount != nil:
		return compileMount(s.Mount)
	case s.Sethostname != nil:
		return step{op: opSethostname, source: []byte(s.Sethostname.Hostname)}, nil
	case s.Mkdir != nil:
		mode := s.Mkdir.Mode
		if mode == 0 {
			mode = 0o755
		}
		// Permission bits only: mkdir(2) takes no others.
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
		mode := c.Mode & 0o777
		if mode == 0 {
			mode = 0o644 // the one convention: 0 is the usual mode (Mkdir's 0755)
		}
		return step{op: opCopyFile, source: cstr(c.Source), root: cstr(filepath.Clean(root)),
			rel: cstr(relative(c.Target)), mode: mode}, nil
	case s.Mask != nil:
		return step{op: opMask, root: cstr("/"), rel: cstr(relative(s.Mask.Path)), path: cstr(s.Mask.Path), readOnly: s.Mask.ReadOnly}, nil
	case s.Rlimit != nil:
		return compileRlimit(s.Rlimit)
	case s.SetUser != nil:
		u := s.SetUser
		return step{op: opSetUser, uid: uintptr(u.UID), gid: uintptr(u.GID), groups: append([]uint32{}, u.Groups...), keepGroups: u.KeepGroups}, nil
	case s.Capabilities != nil:
		c, err := compileCapabilities(s.Capabilities)
		return step{op: opCapabilities, caps: c}, err
	case s.NoNewPrivs != nil:
		return step{op: opNoNewPrivs}, nil
	case s.Seccomp != nil:
		sp, err := compileSeccomp(s.Seccomp)
		return step{op: opSeccomp, seccomp: sp}, err
	}
	return step{}, errors.New("unknown step kind: this crun cannot carry it out")
}

func compileMount(m *spec.Mount) (step, error) {
	flags, err := MountFlags(m.Flags)
	if err != nil {
		return step{}, err
	}
	source := m.Source
	if source == "" {
		source = "none" // as mount(8) shows it; propagation changes ignore it
	}
	st := step{op: opMount, source: cstr(source), fstype: cstr(m.FSType), flags: flags}
	if m.Data != "" {
		st.data = cstr(m.Data)
	}
	if m.Root != "" {
		st.root, st.rel, st.pin = cstr(filepath.Clean(m.Root)), cstr(relative(m.Target)), true
	} else {
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
	st.ifExists = m.IfExists
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

// EnvValue returns the value of key in env, KEY=VALUE entries of which
// the last for a key wins (crun puts --env after its defaults), or "".
func EnvValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
