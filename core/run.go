package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/core/sealed"
	"github.com/crun-project/crun/core/spawn"
	"github.com/crun-project/crun/sdk/spec"
)

// Exit codes of crun itself.
const (
	ExitCrunFailed    = spawn.ExitCrunFailed    // 125
	ExitCannotExecute = spawn.ExitCannotExecute // 126
	ExitNotFound      = spawn.ExitNotFound      // 127
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
	// setup must clean up, not kill crun half-way. The catcher is started
	// as crun starts (CatchSignalsEarly) or here, and installs its
	// handlers while the plan is prepared; run waits only for the signals
	// whose default action would end crun. Until then a signal ends crun
	// as usual, and nothing needs cleaning.
	catcher := takeSignals()
	defer catcher.stop()
	signals, notified := catcher.ch, catcher.notified

	in, err := e.resolveRequest(req)
	if err != nil {
		return ExitCrunFailed, err
	}
	r := &parentRun{stdio: stdio, trace: req.Trace, signals: signals, log: warn, terminal: -1, replay: e.ReplayHook,
		stopTimeout: req.StopTimeout, preserveFDs: req.PreserveFDs, exec: req.Exec}
	s, err := e.prepare(ctx, in, in.lookup())
	if err != nil {
		return ExitCrunFailed, err
	}
	if s.CacheMiss != "" {
		// Before a re-exec, whose run finds the plan cached.
		r.tracef("plan not from the cache: %s", s.CacheMiss)
	}
	if s.Plan.ReapingInit && e.SealInit && !sealed.Running() {
		// crun's code will stay in the container: from a copy of crun
		// the container cannot write to (package sealed). The plan is
		// cached by now: the re-executed crun finds it.
		s.Close()
		if c, ok := e.Launcher.(IdleCloser); ok {
			c.CloseIfIdle() // no plugin host outlives the exec
		}
		err := sealed.Reexec()
		return ExitCrunFailed, fmt.Errorf("crun's init stays in the container (PID 1), and must not be crun's own binary there (CVE-2019-5736): %w", err)
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
	// The child's program, compiled before anything exists: a step that
	// cannot be carried out is refused here.
	if r.program, err = spawn.Compile(s.Plan); err != nil {
		return ExitCrunFailed, err
	}
	for _, note := range r.program.Notes {
		r.tracef("%s", note)
	}
	// Pure planners are not needed any more; keep only the plugins with
	// live hooks running while the container does.
	s.stopPlugins(func(name string) bool { return len(s.descs[name].Hooks) == 0 })
	if c, ok := e.Launcher.(IdleCloser); ok {
		c.CloseIfIdle()
	}

	<-notified
	// Undo what killed cruns left behind, and claim the container's name:
	// quietly (their containers are not this run's business; --trace and
	// crun cleanup say what was done).
	cleaned, err := CleanupStale(e.ReplayHook)
	if err != nil {
		r.tracef("cleaning up after earlier containers: %v (see crun cleanup)", err)
	}
	for _, id := range cleaned.Containers {
		r.tracef("cleaned up after container %q, whose crun was killed", id)
	}
	state, err := createState(s.Plan, s.options, e.ReplayHook, warn)
	if err != nil {
		return ExitCrunFailed, err
	}

	r.state = state
	return r.run(ctx)
}

// parentRun is the parent side of one run.
type parentRun struct {
	session *Session
	program *spawn.Program
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
	preserveFDs int
	exec        *os.File // Request.Exec
	exited      bool
	// hostMounts are the mounts the child made in the host's mount
	// namespace (none with a mount namespace), as host paths.
	hostMounts []HostMount
	// created are mount points the child made in the host's tree.
	created  []HostPath
	terminal int // the terminal handed to the container, or -1
	// replay calls the after-exit hooks of containers cleaned up after.
	replay HookReplayer
}

// childProc is the container's first process, which crun waits for and
// signals by pid (os.FindProcess would first probe the kernel's pidfd
// support by forking a throwaway child).
type childProc struct {
	pid     int
	status  syscall.WaitStatus // once waited for
	waitErr error              // waiting failed: status says nothing
}

// wait reaps the process.
func (c *childProc) wait() {
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

func (r *parentRun) tracef(format string, args ...any) {
	if r.trace {
		Tracef(r.log, startedAt, format, args...)
	}
}

// startedAt is when crun started (its packages initialised): --trace
// lines give the time since then.
var startedAt = Monotonic()

func (r *parentRun) run(ctx context.Context) (code int, err error) {
	s := r.session
	// The container's streams, whose copies may still run once it has
	// ended: they are waited for after the cleanup below.
	streams, err := newStreams(r.stdio)
	if err != nil {
		return ExitCrunFailed, err
	}
	defer streams.wait(outputGrace)

	// From here on something on the host may change: after-exit steps
	// run on every path out, and the child's leftover host mounts are
	// removed.
	defer func() {
		var cleanupErrs []error
		covered, err := undoMounts(r.hostMounts)
		if err != nil {
			cleanupErrs = append(cleanupErrs, err)
		}
		if err := s.runHostSteps(context.WithoutCancel(ctx), spec.HookAfterExit, 0, r.tracef); err != nil {
			cleanupErrs = append(cleanupErrs, err)
		}
		inUse := removeCreated(r.created, r.state.path)
		switch {
		case len(cleanupErrs) == 0 && len(covered)+len(inUse) > 0:
			// Another container on the same rootfs has mounted over
			// ours since (no mount namespace), or may have a mount on a
			// mount point this run made: those stay recorded until it
			// is gone, and the first cleanup after it finishes.
			if err := r.state.keepOnly(covered, inUse); err != nil {
				fmt.Fprintf(r.log, "crun: %v\n", err)
			}
			r.tracef("%d mount(s) and %d mount point(s) in use by another container: left for the first cleanup after it", len(covered), len(inUse))
		case len(cleanupErrs) == 0:
			r.state.remove()
			if waitingForCleanup() {
				// This run's mounts may have covered those of a
				// container that ended before it.
				CleanupStale(r.replay)
			}
		default:
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
	return r.runChild(ctx, streams)
}

func hasAfterClone(p *plan.Plan) bool {
	for _, h := range p.HostSteps {
		if h.Point == spec.HookAfterClone {
			return true
		}
	}
	return false
}

// runChild starts the container's first process, which runs the steps
// and executes the command (package spawn), and follows it to its end.
func (r *parentRun) runChild(ctx context.Context, streams *streams) (int, error) {
	s := r.session
	p := s.Plan
	attr := spawn.Attr{Stdio: streams.files, Terminal: -1, CgroupFD: -1, Wait: hasAfterClone(p),
		Trace: r.trace, Forwarded: ForwardedSignals, PreserveFDs: r.preserveFDs, Exec: r.exec}
	if fd, ok := foregroundTerminal(r.stdio.In); ok {
		attr.Terminal = fd
		r.terminal = fd
	}
	// Signals are handled from before the clone on: a step that hangs
	// must not make crun deaf. (Started now, not once the pid is known:
	// after the fork every page crun writes is copied, at a fault each.)
	done := make(chan struct{})
	defer close(done)
	go r.handleSignals(done)
	clonedAt := Monotonic()
	c, err := r.start(attr, p.CloneIntoCgroup)
	if err == nil {
		r.mu.Lock()
		r.pid = c.Pid
		r.mu.Unlock()
	}
	streams.started()
	if err != nil {
		if r.terminal >= 0 {
			reclaimTerminal(r.terminal)
			r.terminal = -1
		}
		return ExitCrunFailed, cloneError(p.Namespaces, err)
	}
	defer c.Close()
	proc := &childProc{pid: c.Pid}
	if r.trace {
		TraceAt(r.log, startedAt, clonedAt, "cloned the container's first process (pid %d), which runs the steps itself", c.Pid)
	}
	if attr.Wait {
		if err := s.runHostSteps(ctx, spec.HookAfterClone, c.Pid, r.tracef); err != nil {
			return r.abort(proc, err)
		}
		if err := c.Release(); err != nil {
			return r.abort(proc, fmt.Errorf("release the child: %w", err))
		}
	}
	follower := spawn.Follower{Mount: r.recordHostMount, Mounted: r.recordMountID, Create: r.recordCreated}
	if r.trace {
		follower.Step = func(i int, elapsed time.Duration, at int64) {
			st := p.Steps[i-1]
			TraceAt(r.log, startedAt, at, "step %d [%s] %s: %s (%s)",
				i, st.Phase, st.Plugin, plan.DescribeStep(st.Step), elapsed.Round(time.Microsecond))
		}
		follower.Exec = func(path string, at int64) {
			what := "exec %s"
			if p.ReapingInit {
				what = "exec %s (crun's init stays as PID 1)"
			}
			TraceAt(r.log, startedAt, at, what, path)
		}
	}
	executing, failure, err := c.Follow(follower)
	if err != nil {
		return r.abort(proc, err)
	}
	if failure == nil && !executing {
		return r.initDied(proc)
	}
	return r.finish(proc, failure)
}

// start forks the child, inside the plan's cgroup from its first
// instruction where the kernel can (clone3 with CLONE_INTO_CGROUP,
// cgroup v2); otherwise it clones normally, and the plugin's after-clone
// host step attaches the child while it waits.
func (r *parentRun) start(attr spawn.Attr, dir string) (*spawn.Child, error) {
	if dir == "" {
		return r.program.Start(attr)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		attr.CgroupFD = fd
		c, err := r.program.Start(attr)
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
	return r.program.Start(attr)
}

// cloneError words a failed clone.
func cloneError(namespaces []spec.Namespace, err error) error {
	var names []string
	for _, ns := range namespaces {
		names = append(names, plan.CloneFlagName(ns))
	}
	flags := strings.Join(names, "|")
	if flags == "" {
		return fmt.Errorf("start the container's first process: %w", err)
	}
	hint := ""
	switch {
	case !errors.Is(err, unix.EPERM):
	case os.Geteuid() != 0 && !slices.Contains(namespaces, spec.NamespaceUser):
		hint = ": an ordinary user may create the other namespaces only inside a user namespace of its own: " +
			"add the user plugin (--plugins user,...), or run crun as root"
	case os.Geteuid() != 0:
		hint = ": this kernel does not let ordinary users create user namespaces " +
			"(sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces, or an AppArmor or SELinux rule): run crun as root"
	default:
		hint = ": new namespaces need CAP_SYS_ADMIN, which crun lacks here"
	}
	return fmt.Errorf("clone with %s: %w%s", flags, err, hint)
}

// finish follows the command once the child executed it (or reported a
// failure), until it ends, and says how it ended.
func (r *parentRun) finish(proc *childProc, failure *spawn.Failure) (int, error) {
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
		return failure.ExitCode, &RunError{Code: failure.ExitCode, Err: failure, Hint: failure.Hint}
	}
	return status, nil
}

// rootAt is the child's root, as a host path relative to crun's, when it
// runs step (1-based): the chroots before it moved it.
func (r *parentRun) rootAt(step int) string {
	root := "/"
	for _, s := range r.session.Plan.Steps[:step-1] {
		if s.Chroot != nil {
			root = filepath.Join(root, s.Chroot.Path)
		}
	}
	return root
}

// recordCreated records a mount point the child is about to make in the
// host's tree, in the state file too.
func (r *parentRun) recordCreated(step int, path string) error {
	// Recorded once in the state file: a path that could not be recorded
	// is never made, and cleanup must not remove it.
	host := resolveExisting(filepath.Join(r.rootAt(step), path))
	if m := r.session.Plan.Steps[step-1].Mount; m != nil && m.Root != "" {
		// Inside a named root (the rootfs, before the switch): the
		// child followed no symlink in it (it does not announce what it
		// makes through one), and those must not be resolved on the
		// host's side.
		host = filepath.Join(resolveExisting(m.Root), path)
	}
	created := append(slices.Clip(r.created), HostPath(host))
	if err := r.state.setCreated(created); err != nil {
		return fmt.Errorf("record the mount point %s: %w", path, err)
	}
	r.created = created
	return nil
}

// recordHostMount records a mount the child is about to make in the host's
// mount namespace (there is none of its own), in the state file too, in
// case crun is killed: it is undone when the container ends, or by the
// next crun.
func (r *parentRun) recordHostMount(step int, path string) error {
	if r.session.Plan.Has(spec.NamespaceMount) {
		return fmt.Errorf("the child announced a host mount it should not make (%q)", path)
	}
	// mountinfo lists resolved paths: a rootfs reached through a symlink
	// must be recorded as where it really is.
	hm := HostMount{Path: HostPath(resolveExisting(filepath.Join(r.rootAt(step), path)))}
	hm.Below = mountsAt(string(hm.Path))
	if err := r.state.addMount(hm); err != nil {
		return fmt.Errorf("record the host mount %s: %w", hm.Path, err)
	}
	r.hostMounts = append(r.hostMounts, hm)
	return nil
}

// recordMountID records the id of the host mount the child has just made
// (the last one recorded): from then on, undoing it unmounts exactly
// that mount.
func (r *parentRun) recordMountID(step int, id uint64, unique bool) error {
	if len(r.hostMounts) == 0 {
		return fmt.Errorf("the child reported a mount id (step %d) for no mount", step)
	}
	m := &r.hostMounts[len(r.hostMounts)-1]
	m.ID, m.UniqueID = id, unique
	if err := r.state.setMounts(r.hostMounts); err != nil {
		return fmt.Errorf("record the host mount %s: %w", m.Path, err)
	}
	return nil
}

// initDied reports the child ending before it ran the command: killed
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
	const bug = "a bug in crun: please report it, with --trace's output"
	switch {
	case proc.waitErr != nil:
		return ExitCrunFailed, fmt.Errorf("wait for the container's first process: %w", proc.waitErr)
	case killedBy != 0:
		return 128 + int(killedBy), fmt.Errorf("interrupted by %s during setup", unix.SignalName(killedBy))
	case ws.Signaled() && ws.Signal() == pending:
		// A Ctrl-C at the terminal reaches the whole foreground group.
		return 128 + int(pending), fmt.Errorf("interrupted by %s during setup: the container was not started", unix.SignalName(pending))
	case ws.Signaled() && ws.Signal() == unix.SIGKILL:
		return ExitCrunFailed, fmt.Errorf("the container's first process was killed (SIGKILL) while crun prepared it: out of memory, or killed from outside")
	case ws.Signaled():
		return ExitCrunFailed, &RunError{Code: ExitCrunFailed,
			Err:  fmt.Errorf("the container's first process died of %s while crun prepared it", unix.SignalName(ws.Signal())),
			Hint: bug}
	}
	return ExitCrunFailed, &RunError{Code: ExitCrunFailed,
		Err:  fmt.Errorf("the container's first process exited with status %d before it ran the command", ws.ExitStatus()),
		Hint: bug}
}

// abort kills a child that has not executed the command yet.
func (r *parentRun) abort(proc *childProc, err error) (int, error) {
	proc.kill()
	r.reap(proc)
	r.mu.Lock()
	killedBy := r.killedBy
	r.mu.Unlock()
	if killedBy != 0 {
		return 128 + int(killedBy), fmt.Errorf("interrupted by %s during setup", unix.SignalName(killedBy))
	}
	return ExitCrunFailed, err
}

// setupGrace is how long a setup under way may take to finish once a
// signal that ends crun arrives, before crun abandons it; --stop-timeout,
// when shorter, is shorter for the setup too.
const setupGrace = 2 * time.Second

// handleSignals forwards signals to the command once it runs. Before that
// the child is crun's own: a signal that would end crun (Ctrl-C, SIGTERM,
// SIGHUP, SIGQUIT) is kept for the command if the setup finishes within
// the grace (the usual case: it takes milliseconds, and the command may
// already run while crun has not yet heard), and otherwise abandons the
// setup, which is then cleaned up.
func (r *parentRun) handleSignals(done <-chan struct{}) {
	grace := setupGrace
	if r.stopTimeout >= 0 && r.stopTimeout < grace {
		grace = r.stopTimeout
	}
	for {
		var sig os.Signal
		select {
		case sig = <-r.signals:
		case <-done:
			return
		}
		sysSig := sig.(syscall.Signal)
		r.mu.Lock()
		// pid is 0 until the clone returns: the setup has not started,
		// and a signal is kept as during the setup.
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
			r.abandon = time.AfterFunc(grace, r.abandonSetup)
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
	if r.executing || r.exited || r.pid <= 0 {
		return
	}
	r.killedBy = r.pending
	_ = unix.Kill(r.pid, unix.SIGKILL)
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
	if r.stopTimeout < 0 || r.stopTimer != nil {
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
