package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/child"
	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/core/spawn"
	"github.com/crun-project/crun/sdk/spec"
)

// Exit codes of crun itself.
const (
	ExitCrunFailed    = child.ExitCrunFailed    // 125
	ExitCannotExecute = child.ExitCannotExecute // 126
	ExitNotFound      = child.ExitNotFound      // 127
)

// ForwardedSignals are passed on to the container while it runs.
var ForwardedSignals = []os.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT,
}

// fatalSignals are the forwarded signals that end crun when not caught:
// they are caught first.
var fatalSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// Stdio is the container's standard input, output and error.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// RunError is a failed run, with the exit code crun should end with.
type RunError struct {
	Code int
	Err  error
	Hint string
}

func (e *RunError) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Hint)
	}
	return e.Err.Error()
}

func (e *RunError) Unwrap() error { return e.Err }

// Run prepares and runs a container and returns the command's exit code:
// its own status, or 128+N when killed by signal N. err is non-nil when
// crun, not the command, failed; the code is then 125, 126 or 127.
// Warnings go to warn.
func (e *Engine) Run(ctx context.Context, req Request, stdio Stdio, warn io.Writer) (int, error) {
	// Catch signals before anything changes on the host: a Ctrl-C during
	// setup must clean up, not kill crun half-way. Installing a handler
	// takes 30-90 us per signal (the runtime's signal thread acknowledges
	// each), so it runs while the plan is prepared, and run waits only for
	// the signals whose default action would end crun (notified); SIGWINCH
	// and SIGCONT follow (all). Until then a signal ends crun as usual,
	// and nothing needs cleaning.
	signals := make(chan os.Signal, 16)
	notified, all := make(chan struct{}), make(chan struct{})
	go func() {
		signal.Notify(signals, fatalSignals...)
		close(notified)
		signal.Notify(signals, ForwardedSignals...)
		close(all)
	}()
	// Stop forwarding on the way out, without waiting for it: signal.Stop
	// waits for the runtime's signal loop to go idle, up to half a
	// millisecond that a crun about to exit need not spend. The container
	// is gone by then; a signal caught meanwhile is dropped.
	defer func() {
		go func() {
			<-all
			signal.Stop(signals)
		}()
	}()

	in, err := e.resolveRequest(req)
	if err != nil {
		return ExitCrunFailed, err
	}
	r := &parentRun{stdio: stdio, trace: req.Trace, signals: signals, log: warn, terminal: -1,
		stopTimeout: req.StopTimeout}
	s, err := e.prepare(ctx, in, in.lookup())
	if err != nil {
		return ExitCrunFailed, err
	}
	switch {
	case s.FromCache:
		r.tracef("plan from the cache: no plugin launched")
	case s.Cached:
		r.tracef("plan made by the plugins, cached for the next run")
	}
	defer s.Close()
	r.session = s
	s.reports = warn
	for _, w := range s.Plan.Warnings {
		fmt.Fprintf(warn, "crun: warning: %s: %s\n", w.Plugin, w.Message)
	}
	// Pure planners are not needed any more; keep only the plugins with
	// live hooks running while the container does.
	s.stopPlugins(func(name string) bool { return len(s.descs[name].Hooks) == 0 })
	if c, ok := e.Launcher.(IdleCloser); ok {
		c.CloseIfIdle()
	}

	<-notified
	// Undo what killed cruns left behind, and claim the container's name.
	if cleaned, err := CleanupStale(); err != nil {
		fmt.Fprintf(warn, "crun: warning: cleaning up after earlier containers: %v (see crun cleanup)\n", err)
	} else {
		for _, id := range cleaned {
			fmt.Fprintf(warn, "crun: cleaned up after container %q, whose crun was killed\n", id)
		}
	}
	state, err := createState(s.Plan, warn)
	if err != nil {
		return ExitCrunFailed, err
	}

	r.state = state
	return r.run(ctx)
}

// parentRun is the parent side of one run.
type parentRun struct {
	session *Session
	stdio   Stdio
	trace   bool
	signals chan os.Signal
	log     io.Writer

	mu        sync.Mutex
	pid       int
	executing bool           // the command runs: forward signals to it
	killedBy  syscall.Signal // set when crun killed the child during setup
	pending   syscall.Signal // a signal received during setup, for the command
	abandon   *time.Timer    // kills a setup that does not finish after a signal
	state     *State
	// stopTimeout: after a forwarded SIGTERM, the container's time to
	// exit before crun kills it (as docker stop does).
	stopTimeout time.Duration
	stopTimer   *time.Timer
	exited      bool
	// hostMounts are the mounts the child made in the host's mount
	// namespace (none with a mount namespace), as host paths.
	hostMounts []HostMount
	// created are mount points the child made in the host's tree.
	created   []string
	childRoot string // the child's root as a host path, after a chroot
	terminal  int    // the terminal handed to the container, or -1
	// cloning is the program of a child being spawned: its pid is known
	// before r.pid is (spawn.Program.Pid).
	cloning *spawn.Program
}

// childProc is the container's first process, however it was started:
// crun's init through os/exec, or a child forked by package spawn (which
// crun waits for and signals by pid: os.FindProcess would first probe the
// kernel's pidfd support by forking a throwaway child).
type childProc struct {
	cmd     *exec.Cmd // crun-init; nil for a spawned child
	pid     int
	status  syscall.WaitStatus // once waited for
	waitErr error              // waiting failed: status says nothing
}

func initProc(cmd *exec.Cmd) *childProc { return &childProc{cmd: cmd, pid: cmd.Process.Pid} }

// wait reaps the process.
func (c *childProc) wait() {
	if c.cmd != nil {
		err := c.cmd.Wait()
		if c.cmd.ProcessState == nil {
			c.waitErr = err
			return
		}
		c.status, _ = c.cmd.ProcessState.Sys().(syscall.WaitStatus)
		return
	}
	for {
		_, err := unix.Wait4(c.pid, (*unix.WaitStatus)(&c.status), 0, nil)
		if err != unix.EINTR {
			c.waitErr = err
			return
		}
	}
}

// waitExited waits until the process has exited, leaving it to be reaped
// (a zombie keeps its pid): waitid with WNOWAIT.
func (c *childProc) waitExited() {
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, c.pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
}

// kill sends it SIGKILL (it has not been reaped).
func (c *childProc) kill() { _ = unix.Kill(c.pid, unix.SIGKILL) }

// startedChild is crun's init, started, waiting for its plan.
type startedChild struct {
	cmd  *exec.Cmd
	sock *os.File
}

func (r *parentRun) tracef(format string, args ...any) {
	if r.trace {
		child.Tracef(r.log, startedAt, format, args...)
	}
}

// startedAt is when crun started (its packages initialised): --trace
// lines, crun's and its init's, give the time since then.
var startedAt = child.Monotonic()

func (r *parentRun) run(ctx context.Context) (code int, err error) {
	s := r.session
	p := s.Plan

	// From here on something on the host may change: after-exit steps
	// run on every path out, and the child's leftover host mounts are
	// removed.
	defer func() {
		var cleanupErrs []error
		if err := undoMounts(r.hostMounts); err != nil {
			cleanupErrs = append(cleanupErrs, err)
		}
		if err := s.runHostSteps(context.WithoutCancel(ctx), spec.HookAfterExit, 0, r.tracef); err != nil {
			cleanupErrs = append(cleanupErrs, err)
		}
		removeCreated(r.created)
		if len(cleanupErrs) == 0 {
			r.state.remove()
		} else {
			// The state file stays, so crun cleanup can try again.
			cleanupErr := fmt.Errorf("cleanup (crun cleanup retries it): %w", errors.Join(cleanupErrs...))
			if err == nil {
				// The command's status stands; say what was left.
				fmt.Fprintf(r.log, "crun: %v\n", cleanupErr)
			} else {
				err = errors.Join(err, cleanupErr)
			}
		}
	}()

	if err := s.runHostSteps(ctx, spec.HookBeforeClone, 0, r.tracef); err != nil {
		return ExitCrunFailed, err
	}
	if sig := r.interruptedBeforeClone(); sig != 0 {
		return 128 + int(sig), fmt.Errorf("interrupted by %s before the container started", unix.SignalName(sig))
	}
	// crun's own child runs the steps, unless the plan needs crun-init.
	if !filesOnly(r.stdio) {
		r.tracef("crun init runs the steps: the container's streams are not files (os/exec copies them)")
	} else if prog, err := spawn.Compile(p); err != nil {
		r.tracef("crun init runs the steps: %v", err)
	} else {
		return r.runSpawned(ctx, prog)
	}
	c, err := r.startChild(p.Namespaces, p.CloneIntoCgroup)
	if err != nil {
		return ExitCrunFailed, err
	}
	cmd, sock := c.cmd, c.sock
	defer sock.Close()
	proc := initProc(cmd)
	r.mu.Lock()
	r.pid = cmd.Process.Pid
	r.mu.Unlock()
	go r.handleSignals()

	// The child blocks until "go": first the plan, then the host's
	// after-clone steps (cgroup attach, hooks) while it waits.
	afterClone := hasAfterClone(p)
	wire, err := plan.EncodeForChild(p)
	if err != nil {
		return r.abort(proc, err)
	}
	if err := child.WriteMessage(sock, child.Message{Type: child.MsgPlan, Plan: wire, Go: !afterClone,
		Trace: r.trace, TraceStart: startedAt}); err != nil {
		if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
			// The init died before its plan: say of what.
			return r.initDied(proc)
		}
		return r.abort(proc, fmt.Errorf("send the plan to the child: %w", err))
	}
	r.tracef("plan sent to crun init (pid %d)", cmd.Process.Pid)
	if afterClone {
		if err := s.runHostSteps(ctx, spec.HookAfterClone, cmd.Process.Pid, r.tracef); err != nil {
			return r.abort(proc, err)
		}
		if err := child.WriteMessage(sock, child.Message{Type: child.MsgGo, Trace: r.trace}); err != nil {
			return r.abort(proc, fmt.Errorf("release the child: %w", err))
		}
	}

	// Follow the child's steps until it reports an error or its exec
	// closes the socket.
	var failure *child.Message
	execAnnounced := false
	for {
		m, err := child.ReadMessage(sock)
		if err == io.EOF || errors.Is(err, unix.ECONNRESET) {
			break // the child exec'd, or died (with our message unread)
		}
		if err != nil {
			return r.abort(proc, fmt.Errorf("talk to the child: %w", err))
		}
		switch m.Type {
		case child.MsgDone:
			if err := r.stepDone(m); err != nil {
				return r.abort(proc, err)
			}
			continue
		case child.MsgCreate:
			if err := r.recordCreated(m); err != nil {
				return r.abort(proc, err)
			}
			if err := child.WriteMessage(sock, child.Message{Type: child.MsgAck}); err != nil {
				return r.abort(proc, fmt.Errorf("talk to the child: %w", err))
			}
			continue
		case child.MsgExec:
			execAnnounced = true
			continue
		case child.MsgMount:
			if err := r.recordHostMount(m); err != nil {
				return r.abort(proc, err)
			}
			if err := child.WriteMessage(sock, child.Message{Type: child.MsgAck}); err != nil {
				return r.abort(proc, fmt.Errorf("talk to the child: %w", err))
			}
			continue
		}
		if m.Type == child.MsgError {
			failure = &m
			break
		}
	}
	if failure == nil && !execAnnounced {
		return r.initDied(proc)
	}
	return r.finish(proc, failure)
}

func hasAfterClone(p *plan.Plan) bool {
	for _, h := range p.HostSteps {
		if h.Point == spec.HookAfterClone {
			return true
		}
	}
	return false
}

// runSpawned runs the container from a child forked by package spawn,
// which performs the steps itself: no crun init starts.
func (r *parentRun) runSpawned(ctx context.Context, prog *spawn.Program) (int, error) {
	s := r.session
	p := s.Plan
	attr := spawn.Attr{Terminal: -1, CgroupFD: -1, Wait: hasAfterClone(p), Trace: r.trace}
	for i, stream := range []any{r.stdio.In, r.stdio.Out, r.stdio.Err} {
		if f, ok := stream.(*os.File); ok {
			attr.Stdio[i] = f
		}
	}
	if fd, ok := foregroundTerminal(r.stdio.In); ok {
		attr.Terminal = fd
		r.terminal = fd
	}
	clonedAt := child.Monotonic()
	// Signals are handled from now on: the clone returns only once the
	// child has executed the command, and a step that hangs must not
	// make crun deaf (abandonSetup finds the child through prog.Pid).
	r.mu.Lock()
	r.cloning = prog
	r.mu.Unlock()
	go r.handleSignals()
	c, err := r.spawn(prog, attr, p.CloneIntoCgroup)
	if err != nil {
		if r.terminal >= 0 {
			reclaimTerminal(r.terminal)
			r.terminal = -1
		}
		return ExitCrunFailed, cloneError(p.Namespaces, err)
	}
	defer c.Close()
	proc := &childProc{pid: c.Pid}
	pid := c.Pid
	r.mu.Lock()
	r.pid = pid
	r.mu.Unlock()
	if r.trace {
		// When it was cloned: with CLONE_VFORK, crun resumes only once
		// the child has executed the command.
		child.TraceAt(r.log, startedAt, clonedAt, "cloned the container's first process (pid %d), which runs the steps itself", pid)
	}
	if attr.Wait {
		if err := s.runHostSteps(ctx, spec.HookAfterClone, pid, r.tracef); err != nil {
			return r.abort(proc, err)
		}
		if err := c.Release(); err != nil {
			return r.abort(proc, fmt.Errorf("release the child: %w", err))
		}
	}
	progress := spawn.Progress{}
	if r.trace {
		progress.Step = func(i int, elapsed time.Duration, at int64) {
			st := p.Steps[i-1]
			child.TraceAt(r.log, startedAt, at, "step %d [%s] %s: %s (%s)",
				i, st.Phase, st.Plugin, plan.DescribeStep(st.Step), elapsed.Round(time.Microsecond))
		}
		progress.Exec = func(path string, at int64) {
			child.TraceAt(r.log, startedAt, at, "exec %s", path)
		}
	}
	executing, failure, err := c.Follow(progress)
	if err != nil {
		return r.abort(proc, err)
	}
	if failure == nil && !executing {
		return r.initDied(proc)
	}
	return r.finish(proc, failure)
}

// spawn forks the child, inside the plan's cgroup from the start where
// the kernel can (cgroup v2), as start does for crun's init.
func (r *parentRun) spawn(prog *spawn.Program, attr spawn.Attr, dir string) (*spawn.Child, error) {
	if dir == "" {
		return prog.Start(attr)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		attr.CgroupFD = fd
		c, err := prog.Start(attr)
		unix.Close(fd)
		if err == nil {
			r.tracef("cloned into the cgroup %s", dir)
			r.session.clonedInto = dir
			return c, nil
		}
		if errors.Is(err, unix.EPERM) {
			return nil, err // not the cgroup's fault: namespaces need root
		}
	}
	r.tracef("cannot clone into the cgroup %s (%v): cloning normally, attaching after", dir, err)
	attr.CgroupFD = -1
	return prog.Start(attr)
}

// cloneError words a failed clone.
func cloneError(namespaces []spec.Namespace, err error) error {
	var names []string
	for _, ns := range namespaces {
		names = append(names, plan.CloneFlagName(ns))
	}
	flags := strings.Join(names, "|")
	if flags == "" {
		return fmt.Errorf("start crun init: %w", err)
	}
	hint := ""
	if errors.Is(err, unix.EPERM) {
		hint = ": run crun as root (new namespaces need CAP_SYS_ADMIN)"
	}
	return fmt.Errorf("clone with %s: %w%s", flags, err, hint)
}

// finish follows the command once the child executed it (or reported a
// failure), until it ends, and says how it ended.
func (r *parentRun) finish(proc *childProc, failure *child.Message) (int, error) {
	pid := proc.pid
	r.mu.Lock()
	r.executing = failure == nil
	pending := r.pending
	if r.abandon != nil {
		r.abandon.Stop()
	}
	r.mu.Unlock()
	if r.executing && pending != 0 {
		// A signal that came while the container was being set up is
		// the command's now.
		_ = unix.Kill(pid, pending)
		if pending == unix.SIGTERM {
			r.armStopTimer(pid)
		}
	}

	status := r.reap(proc)
	if proc.waitErr != nil {
		return ExitCrunFailed, fmt.Errorf("wait for the container: %w", proc.waitErr)
	}
	r.tracef("the command ended: status %d", status)
	r.mu.Lock()
	killedBy := r.killedBy
	r.mu.Unlock()
	switch {
	case killedBy != 0:
		return 128 + int(killedBy), fmt.Errorf("interrupted by %s during setup", unix.SignalName(killedBy))
	case failure != nil:
		return failure.ExitCode, childError(failure)
	}
	return status, nil
}

// stepDone follows the child's progress: after a chroot, the paths it
// reports are inside its new root.
func (r *parentRun) stepDone(m child.Message) error {
	p := r.session.Plan
	if m.Step < 1 || m.Step > len(p.Steps) {
		return fmt.Errorf("the child reported step %d of %d", m.Step, len(p.Steps))
	}
	if step := p.Steps[m.Step-1]; step.Chroot != nil {
		r.childRoot = filepath.Join("/", r.childRoot, step.Chroot.Path)
	}
	return nil
}

// recordCreated records mount points the child is about to make in the
// host's tree, in the state file too.
func (r *parentRun) recordCreated(m child.Message) error {
	for _, p := range m.Paths {
		r.created = append(r.created, resolveExisting(filepath.Join("/", r.childRoot, p)))
	}
	if err := r.state.setCreated(r.created); err != nil {
		return fmt.Errorf("record the mount points %v: %w", m.Paths, err)
	}
	return nil
}

// recordHostMount records a mount the child is about to make in the host's
// mount namespace (there is none of its own), in the state file too, in
// case crun is killed: it is undone when the container ends, or by the
// next crun.
func (r *parentRun) recordHostMount(m child.Message) error {
	if r.session.Plan.Has(spec.NamespaceMount) || m.Mounted == "" {
		return fmt.Errorf("the child announced a host mount it should not make (%q)", m.Mounted)
	}
	// mountinfo lists resolved paths: a rootfs reached through a symlink
	// must be recorded as where it really is.
	hm := HostMount{Path: resolveExisting(filepath.Join("/", r.childRoot, m.Mounted))}
	hm.Below = mountsAt(hm.Path)
	r.hostMounts = append(r.hostMounts, hm)
	if err := r.state.addMount(hm); err != nil {
		return fmt.Errorf("record the host mount %s: %w", hm.Path, err)
	}
	return nil
}

// startChild clones crun's init into the plan's namespaces. The child's
// end of the protocol socket becomes its fd 3.
func (r *parentRun) startChild(namespaces []spec.Namespace, cloneInto string) (*startedChild, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "crun-parent")
	childEnd := os.NewFile(uintptr(fds[1]), "crun-child")
	defer childEnd.Close()

	cmd := &exec.Cmd{
		Path:       initPath(),
		Args:       []string{child.ProcessName},
		Env:        []string{}, // the command's env travels in the plan
		Stdin:      r.stdio.In,
		Stdout:     r.stdio.Out,
		Stderr:     r.stdio.Err,
		ExtraFiles: []*os.File{childEnd},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: child.CloneFlags(namespaces),
			// The container does not outlive a killed crun.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if fd, ok := foregroundTerminal(r.stdio.In); ok {
		cmd.SysProcAttr.Foreground = true
		cmd.SysProcAttr.Ctty = fd
		r.terminal = fd
	}
	err = r.start(cmd, cloneInto)
	if err != nil {
		parentEnd.Close()
		if r.terminal >= 0 {
			reclaimTerminal(r.terminal)
			r.terminal = -1
		}
		return nil, cloneError(namespaces, err)
	}
	return &startedChild{cmd: cmd, sock: parentEnd}, nil
}

// filesOnly tells whether the container's streams are files (or none).
func filesOnly(stdio Stdio) bool {
	for _, s := range []any{stdio.In, stdio.Out, stdio.Err} {
		switch s.(type) {
		case nil, *os.File:
		default:
			return false
		}
	}
	return true
}

// initPath is the executable of the child init: crun-init beside crun's
// own binary when it is there (lean: it does not link gRPC), crun itself
// otherwise (its main runs the init when started as crun-init).
func initPath() string {
	if self, err := os.Executable(); err == nil {
		lean := filepath.Join(filepath.Dir(self), child.ProcessName)
		if fi, err := os.Stat(lean); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return lean
		}
	}
	return "/proc/self/exe"
}

// start starts the child, inside the plan's cgroup from the first
// instruction where the kernel can (clone3 with CLONE_INTO_CGROUP, cgroup
// v2); otherwise it clones normally, and the plugin's after-clone host
// step attaches the child while it waits.
func (r *parentRun) start(cmd *exec.Cmd, dir string) error {
	if dir == "" {
		return cmd.Start()
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
		err = cmd.Start()
		unix.Close(fd)
		if err == nil {
			r.tracef("cloned into the cgroup %s", dir)
			r.session.clonedInto = dir
			return nil
		}
		if errors.Is(err, unix.EPERM) {
			return err // not the cgroup's fault: namespaces need root
		}
	}
	r.tracef("cannot clone into the cgroup %s (%v): cloning normally, attaching after", dir, err)
	cmd.SysProcAttr.UseCgroupFD = false
	cmd.SysProcAttr.CgroupFD = 0
	return cmd.Start()
}

// initDied reports crun's init ending before it ran the command: killed
// (a Ctrl-C during setup reaches it too), crashed, or out of memory.
func (r *parentRun) initDied(proc *childProc) (int, error) {
	r.mu.Lock()
	if r.abandon != nil {
		r.abandon.Stop()
	}
	r.mu.Unlock()
	r.reap(proc)
	r.mu.Lock()
	pending, killedBy := r.pending, r.killedBy
	r.mu.Unlock()
	ws := proc.status
	switch {
	case proc.waitErr != nil:
		return ExitCrunFailed, fmt.Errorf("wait for the container's first process: %w", proc.waitErr)
	case killedBy != 0:
		return 128 + int(killedBy), fmt.Errorf("interrupted by %s during setup", unix.SignalName(killedBy))
	case pending != 0:
		// The signal reached the whole process group, crun's init too
		// (whose Go runtime exits on it).
		return 128 + int(pending), fmt.Errorf("interrupted by %s during setup: the container was not started", unix.SignalName(pending))
	case ws.Signaled() && terminating(ws.Signal()):
		sig := ws.Signal()
		return 128 + int(sig), fmt.Errorf("interrupted by %s during setup: the container was not started", unix.SignalName(sig))
	case ws.Signaled():
		return ExitCrunFailed, fmt.Errorf("crun's init was killed by %s before it ran the command", unix.SignalName(ws.Signal()))
	}
	return ExitCrunFailed, fmt.Errorf("crun's init exited with status %d before it ran the command", ws.ExitStatus())
}

// abort kills a child that has not executed the command yet.
func (r *parentRun) abort(proc *childProc, err error) (int, error) {
	proc.kill()
	r.reap(proc)
	r.mu.Lock()
	killedBy, pending := r.killedBy, r.pending
	r.mu.Unlock()
	if killedBy == 0 && pending != 0 && (errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET)) {
		// The signal reached crun's init too, which died of it.
		killedBy = pending
	}
	if killedBy != 0 {
		return 128 + int(killedBy), fmt.Errorf("interrupted by %s during setup", unix.SignalName(killedBy))
	}
	return ExitCrunFailed, err
}

// setupGrace is how long a setup under way may take to finish once a
// signal that ends crun arrives, before crun abandons it.
const setupGrace = 2 * time.Second

// handleSignals forwards signals to the command once it runs. Before that
// the child is crun's own init: a signal that would end crun (Ctrl-C,
// SIGTERM, SIGHUP, SIGQUIT) is kept for the command if the setup finishes
// within setupGrace (the usual case: it takes milliseconds, and the
// command may already run while crun has not yet heard), and otherwise
// abandons the setup, which is then cleaned up.
func (r *parentRun) handleSignals() {
	for sig := range r.signals {
		sysSig := sig.(syscall.Signal)
		r.mu.Lock()
		pid, executing := r.pid, r.executing
		if r.exited {
			// It has exited (reaped or about to be): its pid may be
			// another process's. reap sets exited before it reaps, and
			// signals are sent under the lock, so none can miss.
			r.mu.Unlock()
			continue
		}
		if !executing && terminating(sysSig) && r.pending == 0 {
			r.pending = sysSig
			r.abandon = time.AfterFunc(setupGrace, r.abandonSetup)
		}
		if executing {
			_ = unix.Kill(pid, sysSig)
		}
		r.mu.Unlock()
		if executing && sysSig == unix.SIGTERM {
			r.armStopTimer(pid)
		}
	}
}

// abandonSetup kills a child whose setup did not finish in time after a
// signal.
func (r *parentRun) abandonSetup() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.executing || r.exited {
		return
	}
	pid := r.pid
	if pid == 0 && r.cloning != nil {
		pid = r.cloning.Pid()
	}
	if pid <= 0 {
		return // not cloned yet (0 would be crun's own process group)
	}
	r.killedBy = r.pending
	_ = unix.Kill(pid, unix.SIGKILL)
}

func terminating(sig syscall.Signal) bool {
	switch sig {
	case unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT:
		return true
	}
	return false
}

// interruptedBeforeClone reports a signal that would end crun, received
// while it was planning: then nothing is cloned at all.
func (r *parentRun) interruptedBeforeClone() syscall.Signal {
	for {
		select {
		case sig := <-r.signals:
			if s := sig.(syscall.Signal); terminating(s) {
				return s
			}
		default:
			return 0
		}
	}
}

// reap waits for the child and takes the terminal back.
func (r *parentRun) reap(proc *childProc) int {
	// Learn that it exited without reaping it (its pid stays its own),
	// stop signalling it, then reap.
	proc.waitExited()
	r.mu.Lock()
	r.exited = true
	if r.stopTimer != nil {
		r.stopTimer.Stop()
	}
	r.mu.Unlock()
	status := wait(proc)
	if r.terminal >= 0 {
		reclaimTerminal(r.terminal)
	}
	return status
}

// armStopTimer kills the container if it has not exited stopTimeout
// after a SIGTERM: a PID 1 without a handler for SIGTERM ignores it, and
// crun must still stop when asked to.
func (r *parentRun) armStopTimer(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopTimeout <= 0 || r.stopTimer != nil {
		return
	}
	r.stopTimer = time.AfterFunc(r.stopTimeout, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.exited {
			return
		}
		fmt.Fprintf(r.log, "crun: the container did not exit within %s of SIGTERM: killing it\n", r.stopTimeout)
		_ = unix.Kill(pid, unix.SIGKILL)
	})
}

// wait reaps the child and returns its status the way a shell does: the
// exit code, or 128+N when killed by signal N.
func wait(proc *childProc) int {
	proc.wait()
	if proc.waitErr != nil {
		return ExitCrunFailed
	}
	ws := proc.status
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// childError turns the child's error message into the error crun prints.
func childError(m *child.Message) error {
	var err error
	if m.Step > 0 {
		err = fmt.Errorf("plugin %q: step %d (%s): %s", m.Plugin, m.Step, m.What, m.Err)
	} else {
		err = fmt.Errorf("%s: %s", m.What, m.Err)
	}
	return &RunError{Code: m.ExitCode, Err: err, Hint: m.Hint}
}
