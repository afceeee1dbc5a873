package core

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"github.com/crun-project/crun/sdk/spec"
)

// Planner is crun's view of a running plugin process: it answers for the
// plugins it serves, named in each call.
type Planner interface {
	Describe(ctx context.Context, name string) (spec.Description, error)
	Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error)
	Hook(ctx context.Context, name string, req spec.HookRequest) error
}

// Source says where a plugin came from.
type Source struct {
	Name string `json:"name"`
	// Origin is "built-in" or the path of the plugin's executable.
	Origin string `json:"origin"`
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

// NewConnections connects the plugins one process serves: stop (which
// may be nil) ends that process, once none of them is needed.
func NewConnections(sources []Source, planner Planner, stop func()) []*Connection {
	proc := &process{stop: stop}
	conns := make([]*Connection, len(sources))
	for i, s := range sources {
		conns[i] = &Connection{Source: s, Planner: planner, process: proc}
	}
	return conns
}

// StopConnections stops the processes behind the connections.
func StopConnections(conns []*Connection) {
	for _, c := range conns {
		c.process.Stop()
	}
}

// Launcher starts the processes serving the given plugins and connects to
// them.
type Launcher interface {
	Launch(ctx context.Context, sources []Source, pins Pins) ([]*Connection, error)
}

// IdleCloser is a Launcher that can let go of what it holds (a plugin
// host process) once no plugin it launched is needed any more.
type IdleCloser interface {
	CloseIfIdle()
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
