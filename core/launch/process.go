package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
)

// pluginProcess runs one plugin executable for go-plugin. It exists to
// start plugins the way crun needs and go-plugin's own runner does not:
//   - stdin is /dev/null: the terminal belongs to the container;
//   - the plugin dies with crun (Pdeathsig), so a killed crun leaves no
//     plugin behind;
//   - it has its own process group, so a Ctrl-C at the terminal reaches
//     the container and crun, which then stops the plugins in order.
type pluginProcess struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr io.ReadCloser
	pid    int
}

// newPluginProcess prepares path with args, taking the environment that
// go-plugin prepared for the handshake (magic cookie, socket directory):
// nothing of the host's environment is passed on.
func newPluginProcess(spec *exec.Cmd, path string, args, env []string) (*pluginProcess, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(spec.Env, env...)
	cmd.Stdin = nil // /dev/null
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &pluginProcess{cmd: cmd, stdout: stdout, stderr: stderr}, nil
}

var _ runner.Runner = (*pluginProcess)(nil)

func (p *pluginProcess) Start(context.Context) error {
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.pid = p.cmd.Process.Pid
	return nil
}

// Diagnose adds nothing: crun explains start failures itself
// (explainStartError).
func (p *pluginProcess) Diagnose(context.Context) string { return "" }

func (p *pluginProcess) Stdout() io.ReadCloser { return p.stdout }
func (p *pluginProcess) Stderr() io.ReadCloser { return p.stderr }
func (p *pluginProcess) Name() string          { return p.cmd.Path }
func (p *pluginProcess) ID() string            { return fmt.Sprint(p.pid) }

func (p *pluginProcess) Wait(context.Context) error { return p.cmd.Wait() }

// Kill kills the plugin's whole process group: a plugin that started
// processes of its own (a shell script's sleep) must not outlive its
// stop, nor keep its stdout open, which go-plugin reads to the end
// before it returns: a start timeout would then last as long as they do.
func (p *pluginProcess) Kill(context.Context) error {
	if p.cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (p *pluginProcess) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (p *pluginProcess) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// runnerFor returns go-plugin's RunnerFunc for a plugin executable.
func runnerFor(path string, args, env []string) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
		return newPluginProcess(spec, path, args, env)
	}
}
