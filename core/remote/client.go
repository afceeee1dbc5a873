package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/core/sealed"
	"github.com/crun-project/crun/sdk/spec"
)

// HostName is the plugin host's executable, looked for beside crun.
const HostName = "crun-plugins"

// Launcher is crun's core.Launcher: it starts the plugin host on first
// use and asks it to launch plugins.
type Launcher struct {
	// Path is the plugin host's executable; empty: crun-plugins beside
	// crun's own binary.
	Path string
	// Args are passed to the host (its flags).
	Args []string
	// Stderr receives the host's stderr (plugin logs).
	Stderr io.Writer

	mu     sync.Mutex
	host   *host
	groups int // launched groups not stopped yet
}

// Launch implements core.Launcher.
func (l *Launcher) Launch(ctx context.Context, sources []core.Source, pins core.Pins) ([]*core.Connection, error) {
	h, err := l.start()
	if err != nil {
		return nil, err
	}
	resp, err := h.call(ctx, Request{Op: OpLaunch, Sources: sources, Pins: pins})
	if err != nil {
		return nil, err
	}
	group := resp.Group
	l.mu.Lock()
	l.groups++
	l.mu.Unlock()
	stop := func() {
		_, _ = h.call(context.Background(), Request{Op: OpStop, Group: group})
		l.mu.Lock()
		l.groups--
		l.mu.Unlock()
	}
	return core.NewConnections(sources, &planner{host: h}, stop), nil
}

// CloseIfIdle ends the plugin host when no plugin it launched is needed:
// a container whose plugins have no live hooks runs without it.
func (l *Launcher) CloseIfIdle() {
	l.mu.Lock()
	idle := l.groups == 0
	l.mu.Unlock()
	if idle {
		l.Close()
	}
}

// Close ends the plugin host, and with it every plugin.
func (l *Launcher) Close() {
	l.mu.Lock()
	h := l.host
	l.host = nil
	l.mu.Unlock()
	if h != nil {
		h.close()
	}
}

func (l *Launcher) start() (*host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.host != nil {
		return l.host, nil
	}
	path := l.Path
	if path == "" {
		self, err := sealed.Executable()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(filepath.Dir(self), HostName)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s, crun's plugin host, is not at %s: install crun and crun-plugins together (make install)", HostName, path)
	}
	cmd := exec.Command(path, l.Args...)
	cmd.Env = []string{} // plugins get no host environment
	cmd.Stderr = l.Stderr
	// The host dies with crun, and a Ctrl-C at the terminal is crun's to
	// handle, not the host's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	h := &host{cmd: cmd, in: in, pending: map[int]chan Response{}, done: make(chan struct{})}
	go h.read(out)
	l.host = h
	return h, nil
}

// host is a running plugin host.
type host struct {
	cmd *exec.Cmd
	in  io.WriteCloser

	mu      sync.Mutex // guards pending, nextID, writes
	pending map[int]chan Response
	nextID  int
	done    chan struct{} // closed when the host's stdout ends
	exitErr error
}

func (h *host) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
			continue
		}
		h.mu.Lock()
		ch := h.pending[resp.ID]
		delete(h.pending, resp.ID)
		h.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
	close(h.done)
}

// call sends a request and waits for its answer.
func (h *host) call(ctx context.Context, req Request) (Response, error) {
	if dl, ok := ctx.Deadline(); ok {
		req.TimeoutMs = max(1, time.Until(dl).Milliseconds())
	}
	ch := make(chan Response, 1)
	h.mu.Lock()
	h.nextID++
	req.ID = h.nextID
	h.pending[req.ID] = ch
	b, err := json.Marshal(req)
	if err == nil {
		_, err = h.in.Write(append(b, '\n'))
	}
	h.mu.Unlock()
	if err != nil {
		return Response{}, fmt.Errorf("crun's plugin host: %w", err)
	}
	select {
	case resp := <-ch:
		if resp.Error != "" {
			return resp, errors.New(resp.Error)
		}
		return resp, nil
	case <-h.done:
		return Response{}, fmt.Errorf("crun's plugin host (%s) ended unexpectedly", HostName)
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
}

func (h *host) close() {
	h.in.Close()
	exited := make(chan struct{})
	go func() {
		h.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		h.cmd.Process.Kill()
		<-exited
	}
}

// planner relays a plugin's calls to the host.
type planner struct{ host *host }

func (p *planner) Describe(ctx context.Context, name string) (spec.Description, error) {
	resp, err := p.host.call(ctx, Request{Op: OpDescribe, Plugin: name})
	if err != nil || resp.Description == nil {
		return spec.Description{}, orMissing(err, name, "describe")
	}
	return *resp.Description, nil
}

func (p *planner) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	resp, err := p.host.call(ctx, Request{Op: OpContribute, Plugin: name, Contribute: &req})
	if err != nil || resp.Contribution == nil {
		return spec.Contribution{}, orMissing(err, name, "contribute")
	}
	return *resp.Contribution, nil
}

func (p *planner) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	_, err := p.host.call(ctx, Request{Op: OpHook, Plugin: name, Hook: &req})
	return err
}

func orMissing(err error, name, op string) error {
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("plugin %q: %s: no answer in time (the plugin hangs?); --plugin-timeout sets the limit", name, op)
		}
		return err
	}
	return fmt.Errorf("plugin %q: %s: empty answer from crun's plugin host", name, op)
}
