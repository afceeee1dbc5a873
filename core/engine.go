// Package core is crun's engine: it resolves plugin names, launches the
// plugin processes, orders the plugins, asks each for its contribution,
// merges them into a plan, and runs the plan (the parent side: host steps,
// clone, sync, wait, cleanup). The child side is in core/child. core knows
// nothing about hostnames, /proc or cgroups: all of that comes from
// plugins.
package core

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/order"
	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// Engine plans and runs containers.
type Engine struct {
	// Builtins names the plugins served by the built-in server.
	Builtins []string
	// SealInit lets Run re-execute the process from a sealed copy of its
	// binary when crun's init stays in the container (package sealed),
	// so that the container cannot reach the binary through
	// /proc/1/exe. Only a program that is crun may set it: the process
	// is replaced by a new run of the same command line.
	SealInit bool
	// PluginPath is searched for crun-plugin-NAME executables.
	PluginPath []string
	// Launcher starts plugin processes.
	Launcher Launcher
	// Pins are sha256 sums third-party plugins must match.
	Pins Pins
	// CallTimeout bounds each call to a plugin (0: no bound).
	CallTimeout time.Duration
	// HookTimeout bounds each call of a plugin's live hook, which may
	// do real work on the host (set up a network): 0 is DefaultHookTimeout.
	HookTimeout time.Duration
	// Cache reuses the plans of earlier runs with the same inputs
	// (cache.go).
	Cache bool
}

// Option is one -o PLUGIN.KEY=VALUE.
type Option struct {
	Plugin, Key, Value string
	// Flag is how the user gave it (e.g. "--hostname"), for messages.
	Flag string
}

// Request is one run (or plan) as the user asked for it.
type Request struct {
	// Plugins in the user's order.
	Plugins []string
	Options []Option
	Command []string
	// Env is --env KEY=VALUE; it wins over plugins' and crun's defaults.
	Env []string
	// HostEnv passes crun's own environment to the command instead of
	// the clean default one.
	HostEnv bool
	// EnvOnly makes Env the whole environment, as OCI's process.env is:
	// crun adds no PATH, HOME, TERM or HOSTNAME of its own (plugins may
	// still add theirs, and Env wins over them).
	EnvOnly bool
	// ContainerID names the run; generated when empty.
	ContainerID string
	// Trace prints every step as it happens, with timings, on stderr.
	Trace bool
	// PreserveFDs passes crun's fds 3 to 3+PreserveFDs-1 on to the
	// command; it gets no other fd crun has (runc's --preserve-fds).
	PreserveFDs int
	// StopTimeout is how long the container has after a forwarded
	// SIGTERM before crun kills it: 0 kills at once (as docker stop -t 0
	// does), a negative value never.
	StopTimeout time.Duration
	// Exec, when set, is the program the container runs (with Command as
	// its argv): a file crun opened, which nothing in the container can
	// replace (crun probe's).
	Exec *os.File
}

// Session is a prepared run: a plan and the plugin processes it may still
// need (for live hooks). Close it.
type Session struct {
	Plan    *plan.Plan
	conns   map[string]*Connection
	options map[string]map[string]string
	descs   map[string]spec.Description
	reports io.Writer // where host steps' reports go
	// uncacheable says which plugin keeps the plan out of the cache.
	uncacheable string
	// hookTimeout bounds each live hook call.
	hookTimeout time.Duration
	// clonedInto is the cgroup the child was created in, if it was.
	clonedInto string
	// FromCache: the plan came from the cache, no plugin was launched.
	// Cached: the plan was made by the plugins and stored for next time.
	FromCache, Cached bool
	// CacheMiss says why a plan made with the cache on did not come from
	// it (the input that changed...), for --trace.
	CacheMiss string
	closeOnce sync.Once
}

// Close stops every plugin process of the session.
func (s *Session) Close() {
	s.closeOnce.Do(func() { s.stopPlugins(func(string) bool { return true }) })
}

// stopPlugins stops the processes all of whose plugins satisfy done
// (a process serving several plugins stops when none is needed).
func (s *Session) stopPlugins(done func(name string) bool) {
	byProcess := map[*process][]string{}
	for name, c := range s.conns {
		byProcess[c.process] = append(byProcess[c.process], name)
	}
	for proc, names := range byProcess {
		all := true
		for _, n := range names {
			all = all && done(n)
		}
		if all && proc != nil {
			proc.Stop()
		}
	}
}

// DefaultHookTimeout bounds a live hook call when Engine.HookTimeout is 0.
const DefaultHookTimeout = 30 * time.Second

func (e *Engine) hookTimeout() time.Duration {
	if e.HookTimeout > 0 {
		return e.HookTimeout
	}
	return DefaultHookTimeout
}

// ReplayHook calls a plugin's after-exit hook for a container whose crun
// was killed: the plugin is launched again from where the run found it
// (with the engine's pins), called, and stopped. Its hook must be safe to
// call more than once and for a container it never saw start (as CNI's
// DEL is).
func (e *Engine) ReplayHook(ctx context.Context, name string, p HookPlugin, req spec.HookRequest) error {
	if e.Launcher == nil {
		return errors.New("crun cannot launch plugins here")
	}
	ctx, cancel := context.WithTimeout(ctx, e.hookTimeout())
	defer cancel()
	hookCtx := ctx
	conns, err := e.Launcher.Launch(ctx, []Source{{Name: name, Origin: p.Origin}}, e.Pins)
	if err != nil {
		return fmt.Errorf("launch it (%s) for its after-exit hook: %w", p.Origin, err)
	}
	defer func() {
		StopConnections(conns)
		if c, ok := e.Launcher.(IdleCloser); ok {
			c.CloseIfIdle()
		}
	}()
	return hookTimedOut(hookCtx, conns[0].Planner.Hook(ctx, name, req), e.hookTimeout())
}

// explainUnknown is the error for a plugin name crun cannot resolve.
func (e *Engine) explainUnknown(name string) error {
	path := strings.Join(e.PluginPath, ":")
	if path == "" {
		path = "(empty)"
	}
	return fmt.Errorf("unknown plugin %q: not built in (built-ins: %s) and no crun-plugin-%s on the plugin path %s; "+
		"see crun plugins", name, strings.Join(e.Builtins, ", "), name, path)
}

// Resolve turns plugin names into sources: built-in, or an executable on
// the plugin path.
func (e *Engine) Resolve(names []string) ([]Source, error) {
	var sources []Source
	seen := map[string]bool{}
	for _, name := range names {
		if err := spec.ValidName(name); err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("plugin %q is listed twice in --plugins", name)
		}
		seen[name] = true
		if contains(e.Builtins, name) {
			sources = append(sources, Source{Name: name, Origin: BuiltinOrigin})
			continue
		}
		path, ok := FindPlugin(name, e.PluginPath)
		if !ok {
			return nil, e.explainUnknown(name)
		}
		if err := checkPluginFile(name, path); err != nil {
			return nil, err
		}
		sources = append(sources, Source{Name: name, Origin: path})
	}
	return sources, nil
}

// Prepare resolves and launches the plugins and builds the validated plan.
// Nothing on the host has changed when it returns, whatever it returns.
func (e *Engine) Prepare(ctx context.Context, req Request) (*Session, error) {
	in, err := e.resolveRequest(req)
	if err != nil {
		return nil, err
	}
	return e.prepare(ctx, in, in.lookup())
}

// resolved is a request with its container id, plugins, base environment
// and cache key worked out: what planning starts from.
type resolved struct {
	req      Request
	sources  []Source
	base     []string
	cacheKey string // "" when the plan is not to be cached
	// warnings are the presets' (not the plugins': they are not cached).
	warnings []plan.Warning
}

func (e *Engine) resolveRequest(req Request) (*resolved, error) {
	if req.ContainerID == "" {
		req.ContainerID = NewContainerID()
	} else if err := validContainerID(req.ContainerID); err != nil {
		return nil, err
	}
	var presetWarnings []plan.Warning
	req.Plugins, presetWarnings = expandPresets(req, whoCalls(req))
	sources, err := e.Resolve(req.Plugins)
	if err != nil {
		return nil, err
	}
	in := &resolved{req: req, sources: sources, base: baseEnv(req), warnings: presetWarnings}
	if e.Cache && len(sources) > 0 {
		// A key that cannot be made only means planning afresh.
		in.cacheKey, _ = e.cacheKey(req, sources, in.base)
	}
	return in, nil
}

// lookup reads the cache entry of a request, not yet checked.
func (in *resolved) lookup() *cacheHit {
	if in.cacheKey == "" {
		return nil
	}
	return readCacheEntry(in.cacheKey)
}

// prepare builds the session of a resolved request: from the cache entry
// hit when it is usable (no plugin process), from the plugins otherwise.
func (e *Engine) prepare(ctx context.Context, in *resolved, hit *cacheHit) (_ *Session, err error) {
	req, sources, base := in.req, in.sources, in.base
	s := &Session{conns: map[string]*Connection{}, descs: map[string]spec.Description{}, reports: io.Discard, hookTimeout: e.hookTimeout()}
	defer func() {
		// Last, after the plan is cached: the presets' warnings are the
		// request's.
		if err == nil {
			s.Plan.Warnings = append(slices.Clip(s.Plan.Warnings), in.warnings...)
		}
	}()

	// A plan made before from the same inputs needs no plugin process.
	if hit != nil {
		if p := hit.plan(req.ContainerID); p != nil {
			s.Plan, s.FromCache = p, true
			return s, nil
		}
	}
	if in.cacheKey != "" {
		// Plan with the placeholder id, so the plan can be cached.
		realID := req.ContainerID
		req.ContainerID = placeholderID
		miss := e.explainMiss(in, hit)
		s.CacheMiss = miss.why
		defer func() {
			if err == nil && s.Plan.ContainerID == placeholderID {
				s.Plan, err = e.finishCached(in.cacheKey, miss, s, realID)
			}
		}()
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if len(sources) > 0 {
		// The launcher checks each plugin against its pin before it runs.
		conns, err := e.Launcher.Launch(ctx, sources, e.Pins)
		if err != nil {
			return nil, err
		}
		for _, c := range conns {
			s.conns[c.Name] = c
		}
	}

	call := func() (context.Context, context.CancelFunc) {
		if e.CallTimeout > 0 {
			return context.WithTimeout(ctx, e.CallTimeout)
		}
		return context.WithCancel(ctx)
	}

	// Describe, concurrently: each answer is independent.
	descs := make([]spec.Description, len(sources))
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := call()
			defer cancel()
			descs[i], errs[i] = s.conns[src.Name].Planner.Describe(ctx, src.Name)
			if errs[i] == nil {
				errs[i] = checkDescription(src.Name, descs[i])
			}
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	constraints := map[string]order.Constraints{}
	for i, src := range sources {
		s.descs[src.Name] = descs[i]
		constraints[src.Name] = order.Constraints{After: descs[i].After, Before: descs[i].Before, Requires: descs[i].Requires}
	}
	ordered, err := order.Sort(req.Plugins, constraints)
	if err != nil {
		return nil, err
	}
	var lists map[string]map[string][]string
	s.options, lists, err = resolveOptions(req.Options, s.descs)
	if err != nil {
		return nil, err
	}
	facts, factLists := publicFacts(ordered, s.descs, s.options, lists)
	features := Features()

	// Contribute, concurrently; the merge keeps plugin order.
	contributions := make([]plan.Contribution, len(ordered))
	errs = make([]error, len(ordered))
	for i, name := range ordered {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := call()
			defer cancel()
			c, err := s.conns[name].Planner.Contribute(ctx, name, spec.ContributeRequest{
				Options:     s.options[name],
				Plugins:     ordered,
				ContainerID: req.ContainerID,
				Features:    features,
				Facts:       facts[name],
				FactLists:   factLists[name],
				Lists:       lists[name],
			})
			errs[i] = err
			contributions[i] = plan.Contribution{
				Plugin:       plan.Plugin{Name: name, Version: s.descs[name].Version, Origin: s.conns[name].Origin},
				Contribution: c,
			}
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	for _, c := range contributions {
		if err := checkHooks(c, s.descs[c.Plugin.Name]); err != nil {
			return nil, err
		}
		if s.uncacheable == "" {
			switch {
			case c.Uncacheable:
				s.uncacheable = fmt.Sprintf("plugin %s's answer depends on what it cannot name (Uncacheable): planned at every run", c.Plugin.Name)
			case !c.Cacheable:
				s.uncacheable = fmt.Sprintf("plugin %s does not say its answer may be cached (Contribution.Cacheable): planned at every run", c.Plugin.Name)
			}
		}
	}
	s.Plan, err = plan.Merge(plan.Input{
		ContainerID: req.ContainerID,
		Command:     req.Command,
		BaseEnv:     base,
		UserEnv:     req.Env,
	}, contributions)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// finishCached stores a plan made with the placeholder id, when it may be
// cached, and returns it with the run's own id.
func (e *Engine) finishCached(key string, miss *cacheMiss, s *Session, id string) (*plan.Plan, error) {
	cacheable := !s.Plan.Uncacheable
	for _, d := range s.descs {
		cacheable = cacheable && len(d.Hooks) == 0 // live hooks need the plugin anyway
	}
	if cacheable {
		s.Cached = storeCachedPlan(key, s.Plan, miss) == nil
	} else {
		s.CacheMiss = notCacheable(s.uncacheable, s.descs)
	}
	wire, err := plan.Marshal(s.Plan)
	if err != nil {
		return nil, err
	}
	return withContainerID(wire, id)
}

// checkDescription holds a plugin to its name and a valid description.
func checkDescription(name string, d spec.Description) error {
	if d.Name != name {
		return fmt.Errorf("plugin %q describes itself as %q: a plugin's name must match the name it is found by", name, d.Name)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("plugin %q: invalid description: %w", name, err)
	}
	return nil
}

// checkHooks refuses hook steps from a plugin that did not declare the
// hook point: crun keeps only such plugins running.
func checkHooks(c plan.Contribution, d spec.Description) error {
	for _, h := range c.HostSteps {
		if h.Hook == nil {
			continue
		}
		declared := false
		for _, p := range d.Hooks {
			declared = declared || p == h.Point
		}
		if !declared {
			return fmt.Errorf("plugin %q asks for a live hook at %s but did not declare it in its description (Hooks)", c.Plugin.Name, h.Point)
		}
	}
	return nil
}

// resolveOptions validates the user's options against what each plugin
// declared and fills in defaults.
func resolveOptions(opts []Option, descs map[string]spec.Description) (map[string]map[string]string, map[string]map[string][]string, error) {
	out := map[string]map[string]string{}
	lists := map[string]map[string][]string{}
	for name, d := range descs {
		out[name] = map[string]string{}
		for _, o := range d.Options {
			if o.Name != spec.AnyKey {
				out[name][o.Name] = o.Default
			}
		}
	}
	given := map[string]bool{}
	for _, o := range opts {
		how := o.Flag
		if how == "" {
			how = fmt.Sprintf("-o %s.%s", o.Plugin, o.Key)
		}
		d, ok := descs[o.Plugin]
		if !ok {
			return nil, nil, fmt.Errorf("%s: plugin %q is not enabled: add it to --plugins", how, o.Plugin)
		}
		var decl, anyKey *spec.Option
		var known []string
		for i := range d.Options {
			known = append(known, d.Options[i].Name)
			switch d.Options[i].Name {
			case o.Key:
				decl = &d.Options[i]
			case spec.AnyKey:
				anyKey = &d.Options[i]
			}
		}
		if decl == nil && anyKey != nil {
			if spec.ValidName(o.Key) != nil {
				return nil, nil, fmt.Errorf("%s: plugin %q takes keys of your choice, but %q is not one: "+
					"use lower-case letters, digits, '-' and '_', starting with a letter", how, o.Plugin, o.Key)
			}
			decl = anyKey
		}
		if decl == nil {
			accepts := "no options"
			for i, k := range known {
				if k == spec.AnyKey {
					known[i] = "keys of your choice"
				}
			}
			if len(known) > 0 {
				sort.Strings(known)
				accepts = "options " + strings.Join(known, ", ")
			}
			return nil, nil, fmt.Errorf("%s: plugin %q has no option %q (it accepts %s)", how, o.Plugin, o.Key, accepts)
		}
		if err := spec.CheckValue(decl.Type, o.Value); err != nil {
			return nil, nil, fmt.Errorf("%s: plugin %q option %q: %w", how, o.Plugin, o.Key, err)
		}
		key := o.Plugin + "." + o.Key
		if decl.Repeatable {
			if lists[o.Plugin] == nil {
				lists[o.Plugin] = map[string][]string{}
			}
			lists[o.Plugin][o.Key] = append(lists[o.Plugin][o.Key], o.Value)
		}
		switch {
		case decl.Repeatable && given[key]:
			out[o.Plugin][o.Key] += "\n" + o.Value
		case given[key]:
			return nil, nil, fmt.Errorf("%s: plugin %q option %q is given twice, and takes one value: give it once", how, o.Plugin, o.Key)
		default:
			out[o.Plugin][o.Key] = o.Value
		}
		given[key] = true
	}
	return out, lists, nil
}

// publicFacts gives each enabled plugin the public options of the others
// (spec.Option.Public), as "PLUGIN.OPTION": values (repeatable ones
// joined by newlines, as options are) and, for repeatable ones, lists.
// They are functions of the options, which the plan cache already keys
// on.
func publicFacts(plugins []string, descs map[string]spec.Description, values map[string]map[string]string,
	lists map[string]map[string][]string) (map[string]map[string]string, map[string]map[string][]string) {
	public := map[string]string{}
	publicLists := map[string][]string{}
	owner := map[string]string{}
	for _, p := range plugins {
		for _, o := range descs[p].Options {
			if !o.Public || o.Name == spec.AnyKey {
				continue
			}
			key := p + "." + o.Name
			public[key], owner[key] = values[p][o.Name], p
			if o.Repeatable {
				publicLists[key] = lists[p][o.Name]
			}
		}
	}
	facts := map[string]map[string]string{}
	factLists := map[string]map[string][]string{}
	for _, p := range plugins {
		for key, v := range public {
			if owner[key] == p {
				continue // a plugin knows its own options
			}
			if facts[p] == nil {
				facts[p] = map[string]string{}
			}
			facts[p][key] = v
			if l, ok := publicLists[key]; ok && len(l) > 0 {
				if factLists[p] == nil {
					factLists[p] = map[string][]string{}
				}
				factLists[p][key] = l
			}
		}
	}
	return facts, factLists
}

// DefaultPath is the PATH of a container's command.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// baseEnv is the command's environment before plugins and --env: a clean
// default one, so the host's secrets stay on the host, or the host's own
// when the user asked for it.
func baseEnv(req Request) []string {
	switch {
	case req.EnvOnly:
		return nil
	case req.HostEnv:
		return os.Environ()
	}
	env := []string{"PATH=" + DefaultPath, "HOME=/root"}
	term := os.Getenv("TERM")
	if term == "" {
		term = "xterm"
	}
	env = append(env, "TERM="+term)
	if h, err := os.Hostname(); err == nil {
		env = append(env, "HOSTNAME="+h)
	}
	return env
}

// NewContainerID returns a random container id. It reads getrandom(2)
// itself: crypto/rand would link, and initialise at every start, the
// FIPS DRBG machinery for six bytes that need no cryptographic strength.
func NewContainerID() string {
	b := make([]byte, 6)
	if _, err := unix.Getrandom(b, 0); err != nil {
		// Unique enough for a name; collisions are refused anyway.
		binary.BigEndian.PutUint32(b, uint32(time.Now().UnixNano()))
		binary.BigEndian.PutUint16(b[4:], uint16(os.Getpid()))
	}
	return "crun-" + hex.EncodeToString(b)
}

func validContainerID(id string) error {
	if len(id) > 64 {
		return fmt.Errorf("container name %q: at most 64 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("container name %q: use letters, digits, '-', '_' and '.'", id)
		}
	}
	if id == "." || id == ".." {
		return fmt.Errorf("container name %q is not allowed", id)
	}
	return nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// DescribeAll launches the plugins and describes each. A plugin that
// cannot be reached or described gets a nil description and an error, so
// that one broken plugin does not hide the others.
func DescribeAll(ctx context.Context, l Launcher, sources []Source, pins Pins) ([]*spec.Description, []error) {
	out := make([]*spec.Description, len(sources))
	var errs []error
	// The built-ins share one process; each third-party plugin is
	// launched on its own, so that one failure stays one.
	var builtins, others []Source
	for _, s := range sources {
		if s.Origin == BuiltinOrigin {
			builtins = append(builtins, s)
		} else {
			others = append(others, s)
		}
	}
	groups := [][]Source{}
	if len(builtins) > 0 {
		groups = append(groups, builtins)
	}
	for _, s := range others {
		groups = append(groups, []Source{s})
	}
	descs := map[string]*spec.Description{}
	for _, g := range groups {
		conns, err := l.Launch(ctx, g, pins)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range conns {
			d, err := c.Planner.Describe(ctx, c.Name)
			if err == nil {
				err = checkDescription(c.Name, d)
			}
			if err != nil {
				errs = append(errs, err)
			} else {
				descs[c.Name] = &d
			}
		}
		for _, c := range conns {
			c.process.Stop()
		}
	}
	for i, s := range sources {
		out[i] = descs[s.Name]
	}
	return out, errs
}
