package child

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// Exit codes of the init, the convention users know from other runtimes.
const (
	ExitCrunFailed    = 125
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// Main is crun's init. It runs in the child cloned into the new
// namespaces, performs the plan's steps and executes the command; it only
// returns (with an exit code) when it could not.
func Main() int {
	// One thread does everything, up to the exec: per-thread state set
	// by a step (a cgroup joined through its tasks file) must be that of
	// the thread that executes the command.
	mainAt := Monotonic()
	runtime.LockOSThread()
	sock := os.NewFile(SocketFD, "crun-init-socket")
	// The command must not inherit the socket, and the parent relies on
	// execve closing it.
	unix.CloseOnExec(SocketFD)

	m, err := ReadMessage(sock)
	if err != nil || m.Type != MsgPlan || m.Plan == nil {
		// The parent is gone or broken: there is nobody to report to.
		return ExitCrunFailed
	}
	p, err := plan.DecodeForChild(m.Plan)
	if err != nil {
		_ = WriteMessage(sock, Message{Type: MsgError, What: "crun init", Err: err.Error(),
			Hint: "crun and crun-init are from different versions: install them together", ExitCode: ExitCrunFailed})
		return ExitCrunFailed
	}
	if len(p.Command) == 0 {
		_ = WriteMessage(sock, Message{Type: MsgError, What: "crun init", Err: "the plan has no command", ExitCode: ExitCrunFailed})
		return ExitCrunFailed
	}
	if p.FormatVersion != plan.FormatVersion {
		_ = WriteMessage(sock, Message{Type: MsgError, What: "crun init",
			Err:  fmt.Sprintf("crun sent a plan of format %d, this init reads format %d", p.FormatVersion, plan.FormatVersion),
			Hint: "crun and crun-init are from different versions: install them together", ExitCode: ExitCrunFailed})
		return ExitCrunFailed
	}
	planMsg := m
	if !m.Go {
		// The parent has host steps to do while the child waits.
		if m, err = ReadMessage(sock); err != nil || m.Type != MsgGo {
			return ExitCrunFailed
		}
	}
	trace, traceStart := m.Trace, planMsg.TraceStart
	if trace {
		Tracef(os.Stderr, traceStart, "crun init: its Go runtime started @%.2fms; plan received",
			float64(mainAt-traceStart)/float64(time.Millisecond))
	}

	fail := func(step int, plugin, what string, err error, hint string, code int) int {
		_ = WriteMessage(sock, Message{Type: MsgError, Step: step, Plugin: plugin,
			What: what, Err: err.Error(), Hint: hint, ExitCode: code})
		return code
	}

	// Without a mount namespace the parent follows the steps (a chroot
	// moves where later mounts land on the host); otherwise it needs
	// only the outcome, and each report would cost both sides a wake-up.
	reportSteps := !p.Has(spec.NamespaceMount)
	// After the root switch, mount points made are inside the container's
	// root, like its /proc: not the host's to clean up.
	rootSwitched := false
	done := func(d Done) {
		if s := p.Steps[d.Step-1]; s.PivotRoot != nil || s.Chroot != nil {
			rootSwitched = true
		}
		if trace {
			s := p.Steps[d.Step-1]
			Tracef(os.Stderr, traceStart, "step %d [%s] %s: %s (%s)",
				d.Step, s.Phase, s.Plugin, plan.DescribeStep(s.Step), d.Elapsed.Round(time.Microsecond))
		}
		if !reportSteps {
			return
		}
		if err := WriteMessage(sock, Message{Type: MsgDone, Step: d.Step, Elapsed: d.Elapsed, Mounted: d.Mounted}); err != nil {
			// The parent is gone; carrying on would run a container
			// nobody supervises.
			os.Exit(ExitCrunFailed)
		}
	}
	hooks := Hooks{Done: done}
	// Mount points made in the host's tree are leftovers unless the
	// parent removes them: it records each before it exists.
	hooks.BeforeCreate = func(step int, paths []string) error {
		if rootSwitched {
			return nil
		}
		if err := WriteMessage(sock, Message{Type: MsgCreate, Step: step, Paths: paths}); err != nil {
			return fmt.Errorf("announce the mount points to crun: %w", err)
		}
		if m, err := ReadMessage(sock); err != nil || m.Type != MsgAck {
			return fmt.Errorf("crun did not record the mount points %v: %v", paths, err)
		}
		return nil
	}
	if !p.Has(spec.NamespaceMount) {
		// These mounts are the host's: the parent records each before it
		// exists, so that even a SIGKILLed crun leaves them findable.
		hooks.BeforeMount = func(step int, target string) error {
			if err := WriteMessage(sock, Message{Type: MsgMount, Step: step, Mounted: target}); err != nil {
				return fmt.Errorf("announce the host mount to crun: %w", err)
			}
			if m, err := ReadMessage(sock); err != nil || m.Type != MsgAck {
				return fmt.Errorf("crun did not record the host mount %s: %v", target, err)
			}
			return nil
		}
	}
	if err := RunSteps(Kernel{}, p.Steps, hooks); err != nil {
		var se *StepError
		if errors.As(err, &se) {
			return fail(se.Step, se.Plugin, se.What, se.Err, Hint(se.Err), ExitCrunFailed)
		}
		return fail(0, "", "steps", err, Hint(err), ExitCrunFailed)
	}

	path, err := LookPath(p.Command[0], EnvValue(p.Env, "PATH"))
	if err != nil {
		return fail(0, "", "exec "+p.Command[0], err, NotFoundHint, ExitNotFound)
	}
	if p.ReapingInit {
		if trace {
			Tracef(os.Stderr, traceStart, "spawn %s (crun's init stays as the first process)", path)
		}
		code, err := supervise(sock, path, p.Command, p.Env)
		if err != nil {
			code, hint := ExecFailure(err)
			return fail(0, "", "exec "+path, err, hint, code)
		}
		return code
	}
	if trace {
		Tracef(os.Stderr, traceStart, "exec %s", path)
	}
	if err := WriteMessage(sock, Message{Type: MsgExec}); err != nil {
		return ExitCrunFailed // the parent is gone
	}
	err = unix.Exec(path, p.Command, p.Env)
	code, hint := ExecFailure(err)
	return fail(0, "", "exec "+path, err, hint, code)
}

// ExecFailure gives the exit code and advice for a failed execve.
func ExecFailure(err error) (int, string) {
	if errors.Is(err, unix.ENOENT) {
		// The file is there but its interpreter (#! line) or dynamic
		// loader is not.
		return ExitNotFound, "its interpreter (#! line) or dynamic loader is missing"
	}
	if errors.Is(err, unix.EAGAIN) {
		// fork (crun-init's, with pid.init) refused by the pids cgroup.
		return ExitCannotExecute, "the container may not start another process: raise --pids-max"
	}
	return ExitCannotExecute, "is it an executable file (chmod +x) for this machine?"
}

// NotFoundHint is the advice for a command that is not found.
const NotFoundHint = "check the name, or give a path; --env PATH=... sets the container's PATH"

// ErrNotFound is returned by LookPath when no executable file matches.
var ErrNotFound = errors.New("command not found")

// LookPath finds the command like a shell would, but in the container's
// PATH (after the root switch), not the host's. A name with a slash is used
// as it is.
func LookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", ErrNotFound
			}
			return "", err
		}
		return name, nil
	}
	var denied string
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, name)
		fi, err := os.Stat(candidate)
		if err != nil || fi.IsDir() {
			continue
		}
		if unix.Access(candidate, unix.X_OK) == nil {
			return candidate, nil
		}
		if denied == "" {
			denied = candidate
		}
	}
	if denied != "" {
		// Like a shell: a file that is there but not executable is
		// reported as such (126), not as missing.
		return denied, nil
	}
	return "", fmt.Errorf("%w in the container's PATH=%s", ErrNotFound, path)
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
