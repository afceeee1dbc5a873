package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/crun-project/crun/sdk"
	"github.com/crun-project/crun/sdk/spec"
)

// Planner is crun's view of a running plugin process: it answers for the
// plugins it serves, named in each call. *sdk.Remote is the real one.
type Planner interface {
	Describe(ctx context.Context, name string) (spec.Description, error)
	Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error)
	Hook(ctx context.Context, name string, req spec.HookRequest) error
}

// Source says where a plugin came from.
type Source struct {
	Name string
	// Origin is "built-in" or the path of the plugin's executable.
	Origin string
}

// BuiltinOrigin is the Origin of built-in plugins.
const BuiltinOrigin = "built-in"

// Connection is a plugin reached through a Planner.
type Connection struct {
	Source
	Planner Planner
	// process is shared by every plugin the process serves.
	process *process
}

// process is a running plugin process.
type process struct {
	once sync.Once
	stop func()
}

// Stop ends the process; it is safe to call more than once.
func (p *process) Stop() {
	if p != nil && p.stop != nil {
		p.once.Do(p.stop)
	}
}

// NewConnection makes a Connection; stop (which may be nil) ends the
// process behind it. For Launchers other than ProcessLauncher.
func NewConnection(src Source, planner Planner, stop func()) *Connection {
	return &Connection{Source: src, Planner: planner, process: &process{stop: stop}}
}

// Launcher starts the processes serving the given plugins and connects to
// them. The default one runs real processes; tests may serve plugins
// in-process.
type Launcher interface {
	Launch(ctx context.Context, sources []Source) ([]*Connection, error)
}

// ProcessLauncher launches plugin processes with go-plugin: all built-ins
// in one process (the crun binary re-executed as a plugin server), each
// third-party plugin in its own, all concurrently.
type ProcessLauncher struct {
	// BuiltinServer is the command line that serves every built-in plugin.
	BuiltinServer []string
	// runtimeDir holds the plugins' unix sockets: made on the first
	// launch (a run whose plan is cached launches nothing), removed by
	// Close.
	runtimeDir *RuntimeDir
	mu         sync.Mutex
	// StartTimeout bounds how long a plugin may take to answer.
	StartTimeout time.Duration
	Logger       hclog.Logger
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
		d, err := NewRuntimeDir()
		if err != nil {
			return "", err
		}
		l.runtimeDir = d
	}
	return l.runtimeDir.Path, nil
}

// Launch implements Launcher.
func (l *ProcessLauncher) Launch(ctx context.Context, sources []Source) ([]*Connection, error) {
	dir, err := l.socketDir()
	if err != nil {
		return nil, err
	}
	// One process per executable: the built-ins share one.
	type proc struct {
		path    string
		args    []string
		sources []Source
		conn    Planner
		stop    func()
		err     error
	}
	var procs []*proc
	byPath := map[string]*proc{}
	for _, s := range sources {
		path, args := s.Origin, []string(nil)
		if s.Origin == BuiltinOrigin {
			path, args = l.BuiltinServer[0], l.BuiltinServer[1:]
		}
		p, ok := byPath[path]
		if !ok {
			p = &proc{path: path, args: args}
			byPath[path] = p
			procs = append(procs, p)
		}
		p.sources = append(p.sources, s)
	}

	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.conn, p.stop, p.err = l.start(ctx, p.path, p.args, p.sources, dir)
		}()
	}
	wg.Wait()

	var conns []*Connection
	var errs []error
	for _, p := range procs {
		if p.err != nil {
			errs = append(errs, p.err)
			continue
		}
		proc := &process{stop: p.stop}
		for _, s := range p.sources {
			conns = append(conns, &Connection{Source: s, Planner: p.conn, process: proc})
		}
	}
	if len(errs) > 0 {
		// Fail closed: never run with a requested plugin missing.
		for _, p := range procs {
			if p.stop != nil {
				p.stop()
			}
		}
		return nil, errors.Join(errs...)
	}
	return conns, nil
}

// start launches one plugin process and checks that it serves what it
// was launched for.
func (l *ProcessLauncher) start(ctx context.Context, path string, args []string, sources []Source, socketDir string) (Planner, func(), error) {
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
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPlugins(),
		RunnerFunc:       runnerFor(path, args),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           l.Logger,
		SkipHostEnv:      true,
		StartTimeout:     l.StartTimeout,
		Stderr:           lastWords,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: socketDir},
	})
	stop := func() { client.Kill() }
	fail := func(err error) (Planner, func(), error) {
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
	raw, err := rpc.Dispense(sdk.DispenseName)
	if err != nil {
		return fail(err)
	}
	remote, ok := raw.(*sdk.Remote)
	if !ok {
		return fail(fmt.Errorf("unexpected client type %T", raw))
	}
	ctx, cancel := context.WithTimeout(ctx, l.StartTimeout)
	defer cancel()
	served, err := remote.Plugins(ctx)
	if err != nil {
		return fail(err)
	}
	for _, n := range names {
		if !contains(served, n) {
			return fail(fmt.Errorf("it serves %v, not %q", served, n))
		}
	}
	return &remoteWithWords{Remote: remote, words: lastWords}, stop, nil
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
		return fmt.Errorf("%s: the plugin speaks another crun plugin protocol; this crun speaks version %d: "+
			"rebuild the plugin against a matching sdk", msg, spec.ProtocolVersion)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%s: the plugin did not answer in time (--plugin-timeout)", msg)
	}
	return errors.New(msg)
}

// remoteWithWords adds a crashed plugin's last stderr output to transport
// errors, which is usually the panic that killed it.
type remoteWithWords struct {
	*sdk.Remote
	words *tailBuffer
}

func (r *remoteWithWords) addWords(err error) error {
	var pe *sdk.PluginError
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
	d, err := r.Remote.Describe(ctx, name)
	return d, r.addWords(err)
}

func (r *remoteWithWords) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	c, err := r.Remote.Contribute(ctx, name, req)
	return c, r.addWords(err)
}

func (r *remoteWithWords) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	return r.addWords(r.Remote.Hook(ctx, name, req))
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

// FindPlugin looks for the executable crun-plugin-NAME in dirs.
func FindPlugin(name string, dirs []string) (string, bool) {
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "crun-plugin-"+name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
