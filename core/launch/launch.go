// Package launch starts crun's plugins and connects to them: the
// built-ins in-process behind real gRPC, third-party plugins as processes
// through hashicorp go-plugin. It is the part of crun that links the RPC
// machinery, and lives in crun-plugins, crun's plugin host, so that crun
// itself and its init start without paying for it.
package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/sdk"
	"github.com/crun-project/crun/sdk/host"
	"github.com/crun-project/crun/sdk/spec"
)

// ProcessLauncher launches plugins: the built-ins are served in this
// process, behind the same gRPC service a plugin process serves (so they
// are held to the same contract, and crun cannot tell them apart), and
// each third-party plugin is its own process, started with go-plugin, all
// concurrently.
type ProcessLauncher struct {
	// Builtins are served in-process.
	Builtins []sdk.Plugin
	// StartTimeout bounds how long a plugin may take to answer.
	StartTimeout time.Duration
	Logger       hclog.Logger

	// runtimeDir holds the plugins' unix sockets: made on the first
	// launch of a plugin process, removed by Close.
	runtimeDir *core.RuntimeDir
	mu         sync.Mutex
}

// Close removes the runtime directory, if one was made.
func (l *ProcessLauncher) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runtimeDir.Remove()
	l.runtimeDir = nil
}

func (l *ProcessLauncher) socketDir() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runtimeDir == nil {
		d, err := core.NewRuntimeDir()
		if err != nil {
			return "", err
		}
		l.runtimeDir = d
	}
	return l.runtimeDir.Path, nil
}

// Launch implements core.Launcher.
func (l *ProcessLauncher) Launch(ctx context.Context, sources []core.Source, pins core.Pins) ([]*core.Connection, error) {
	var builtins []core.Source
	byPath := map[string][]core.Source{}
	var paths []string
	for _, s := range sources {
		if s.Origin == core.BuiltinOrigin {
			builtins = append(builtins, s)
			continue
		}
		if _, ok := byPath[s.Origin]; !ok {
			paths = append(paths, s.Origin)
		}
		byPath[s.Origin] = append(byPath[s.Origin], s)
	}
	type started struct {
		conns []*core.Connection
		err   error
	}
	results := make([]started, len(paths))
	var wg sync.WaitGroup
	if len(paths) > 0 {
		dir, err := l.socketDir()
		if err != nil {
			return nil, err
		}
		for i, path := range paths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srcs := byPath[path]
				for _, s := range srcs {
					// Only a plugin about to run is checked against
					// its pin.
					if err := checkPin(pins, s.Name, path); err != nil {
						results[i].err = err
						return
					}
				}
				planner, stop, err := l.start(ctx, path, nil, srcs, dir)
				results[i] = started{conns: core.NewConnections(srcs, planner, stop), err: err}
			}()
		}
	}
	var conns []*core.Connection
	var errs []error
	if len(builtins) > 0 {
		planner, stop, err := host.ServeInProcess(l.Builtins)
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in plugins: %w", err))
		} else {
			conns = append(conns, core.NewConnections(builtins, planner, stop)...)
		}
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		conns = append(conns, r.conns...)
	}
	if len(errs) > 0 {
		// Fail closed: never run with a requested plugin missing.
		core.StopConnections(conns)
		return nil, errors.Join(errs...)
	}
	return conns, nil
}

// pluginEnv is what a plugin process gets in its environment besides
// go-plugin's own: the level its logger writes from (what crun shows).
func (l *ProcessLauncher) pluginEnv() []string {
	level := "off"
	if l.Logger != nil {
		level = strings.ToLower(l.Logger.GetLevel().String())
	}
	return []string{host.LogLevelEnv + "=" + level}
}

// start launches one plugin process and checks that it serves what it
// was launched for.
func (l *ProcessLauncher) start(ctx context.Context, path string, args []string, sources []core.Source, socketDir string) (core.Planner, func(), error) {
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	who := fmt.Sprintf("plugin %q", names[0])
	if len(names) > 1 {
		who = fmt.Sprintf("plugins %s", strings.Join(names, ","))
	}

	lastWords := &tailBuffer{max: 4096}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  host.Handshake(),
		VersionedPlugins: host.ClientPlugins(),
		RunnerFunc:       runnerFor(path, args, l.pluginEnv()),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           l.Logger,
		SkipHostEnv:      true,
		StartTimeout:     l.StartTimeout,
		Stderr:           lastWords,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: socketDir},
	})
	stop := func() { client.Kill() }
	fail := func(err error) (core.Planner, func(), error) {
		client.Kill()
		msg := err.Error()
		if words := lastWords.String(); words != "" {
			msg += "; its stderr ended with: " + words
		}
		return nil, nil, fmt.Errorf("%s (%s): could not start: %s", who, path, msg)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(explainStartError(err))
	}
	remote, err := host.Dispense(rpc)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, l.StartTimeout)
	defer cancel()
	served, err := remote.Plugins(ctx)
	if err != nil {
		return fail(err)
	}
	for _, n := range names {
		if !slices.Contains(served, n) {
			return fail(fmt.Errorf("it serves %v, not %q", served, n))
		}
	}
	return &remoteWithWords{Client: remote, words: lastWords}, stop, nil
}

// explainStartError rewords go-plugin's start errors for crun's users,
// on one line.
func explainStartError(err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	switch {
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"):
		return fmt.Errorf("it exited (or closed its stdout) before the go-plugin handshake")
	case strings.Contains(msg, "Unrecognized remote plugin message: "):
		_, printed, _ := strings.Cut(msg, "Unrecognized remote plugin message: ")
		return fmt.Errorf("its stdout does not start with the go-plugin handshake (it printed %q): "+
			"is it a crun plugin (sdk.Serve)? A plugin must not print to stdout; log to stderr", strings.TrimSpace(printed))
	case strings.Contains(strings.ToLower(msg), "incompatible api version"):
		return fmt.Errorf("%s: the plugin speaks another crun plugin protocol; this crun speaks versions %d to %d: "+
			"rebuild the plugin against a matching sdk", msg, spec.OldestProtocolVersion, spec.ProtocolVersion)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%s: the plugin did not answer in time (--plugin-timeout)", msg)
	}
	return errors.New(msg)
}

// remoteWithWords adds a crashed plugin's last stderr output to transport
// errors, which is usually the panic that killed it.
type remoteWithWords struct {
	*host.Client
	words *tailBuffer
}

func (r *remoteWithWords) addWords(err error) error {
	var pe *host.PluginError
	if errors.As(err, &pe) && pe.Transport {
		// Give the stderr reader a moment to drain what the dying
		// process wrote.
		time.Sleep(50 * time.Millisecond)
		if w := r.words.String(); w != "" {
			pe.Err = fmt.Errorf("%w; its stderr ended with: %s", pe.Err, w)
		}
	}
	return err
}

func (r *remoteWithWords) Describe(ctx context.Context, name string) (spec.Description, error) {
	d, err := r.Client.Describe(ctx, name)
	return d, r.addWords(err)
}

func (r *remoteWithWords) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	c, err := r.Client.Contribute(ctx, name, req)
	return c, r.addWords(err)
}

func (r *remoteWithWords) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	return r.addWords(r.Client.Hook(ctx, name, req))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

// String returns the last few lines, on one line, without go-plugin's
// own debug chatter (JSON log lines at debug or trace level).
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines [][]byte
	for _, l := range bytes.Split(bytes.TrimSpace(t.buf), []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`{"@level":"debug"`)) || bytes.HasPrefix(l, []byte(`{"@level":"trace"`)) || len(l) == 0 {
			continue
		}
		lines = append(lines, l)
	}
	// A panic's first line says what happened; its stack is for the
	// plugin's author (--log-level debug shows it all).
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("panic: ")) {
			return string(l)
		}
		if i >= 5 {
			lines = lines[:6]
			break
		}
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
