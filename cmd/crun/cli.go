package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/core/remote"
	"github.com/crun-project/crun/plugins/builtin"
	"github.com/crun-project/crun/sdk/spec"
)

// cgroupDefaultPids is shown in --help: the cgroup plugin's own default.
var cgroupDefaultPids = builtin.OptionDefault("cgroup", "pids-max")

// Version is crun's version.
const Version = "0.1.0"

// DefaultPluginsConfig holds plugin pins: {"sha256": {"NAME": "HEX"}}.
const DefaultPluginsConfig = "/etc/crun/plugins.json"

// DefaultPluginPath is searched for third-party plugins after
// --plugin-path and CRUN_PLUGIN_PATH.
var DefaultPluginPath = []string{"/usr/local/lib/crun/plugins", "/usr/lib/crun/plugins"}

const usage = `crun runs a command in an isolated environment; every isolation feature is a plugin.

Usage:
  crun [flags] run [flags] [--] COMMAND [ARG...]   run COMMAND in a container
  crun [flags] plan [flags] [--] COMMAND [ARG...]  print what run would do, without doing it
  crun [flags] probe [--json]                      what the container shares with the host, side by side
  crun [flags] plugins                             list the plugins crun can use
  crun [flags] run --bundle B [ID]                 OCI's run: the container B/config.json describes, in the foreground
  crun [flags] plan --bundle B [ID]                the plan compiled from B/config.json
  crun spec [--bundle B] [--rootfs DIR]            write a default B/config.json (runc spec's), never over one
  crun features                                    what crun accepts in config.json (runtime-spec features.md JSON)
  crun rootfs create DIR                           make a minimal busybox root file system
  crun rootfs import SRC DIR                       unpack a rootfs tarball or OCI image layout
  crun cleanup                                     undo what killed cruns left behind
  crun version                                     say which crun this is
  crun help                                        this help

Examples:
  crun --plugins uts,pid,mnt run sh           a shell with its own hostname, PIDs and mounts
  crun --plugins uts --hostname box run hostname
  crun --plugins uts,pid,mnt,cgroup --pids-max 20 run sh   a fork bomb stops at 20 processes
  crun plan --plugins uts,pid,mnt -- sh       the clone flags and steps, in order
  crun plan --explain --plugins mnt -- sh     ... and why each is there
  crun plan --plugins uts,pid,mnt,cgroup --diff uts,pid,mnt -- sh   what cgroup adds to the plan
  crun --plugins uts,pid,mnt probe            which namespaces, capabilities, limits differ from the host's
  crun run echo hello                         no plugins: a plain fork/exec
  crun rootfs create /tmp/rootfs && crun --plugins uts,pid,mnt,chroot --rootfs /tmp/rootfs run sh
  crun rootfs create /tmp/b/rootfs && crun spec --bundle /tmp/b && crun run --bundle /tmp/b box1

With --bundle, run is OCI's (runc run): config.json gives the command and the
plugins, and the one argument is the container's id. Without it, run COMMAND
is crun's own. A field of config.json crun does not implement is refused,
named (README: OCI bundles).

Flags (before or after the command word):
%s
Exit status: the command's own; 128+N if it was killed by signal N;
125 if crun failed; 126 if the command cannot be executed; 127 if it was not found.
`

// options are the parsed flags.
type options struct {
	plugins       []string
	hostname      string
	rootfs        string
	workdir       string
	bundle        string
	tmpfs         []string
	binds         []string
	readOnly      bool
	pidsMax       string
	memory        string
	cpus          string
	stats         bool
	stopTimeout   time.Duration
	noCache       bool
	explain       bool
	opts          []string
	env           []string
	hostEnv       bool
	name          string
	pluginPath    string
	pluginTimeout time.Duration
	hookTimeout   time.Duration
	pluginSHA256  []string
	trace         bool
	json          bool
	logLevel      string
	help          bool
	preserveFDs   int
	user          string
	groupAdd      []string
	diff          []string
	// changed says whether a flag was given (--bundle refuses some).
	changed func(name string) bool
}

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("crun", pflag.ContinueOnError)
	fs.SetInterspersed(false) // the command's own flags are not ours
	fs.StringSliceVarP(&o.plugins, "plugins", "p", nil, "isolation plugins to enable, comma-separated, e.g. uts,pid,mnt (see crun plugins)")
	fs.StringVar(&o.hostname, "hostname", "", "the container's hostname (uts plugin; default \"container\")")
	fs.StringVar(&o.rootfs, "rootfs", "", "the container's root file system directory (chroot plugin; crun rootfs create DIR makes one)")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "the command's working directory in the container (chroot plugin; default /)")
	fs.StringVar(&o.bundle, "bundle", "", "run, plan: an OCI bundle, DIR with config.json and its rootfs, instead of a COMMAND (spec: where to write config.json)")
	fs.StringArrayVar(&o.tmpfs, "tmpfs", nil, "mount a tmpfs at PATH[:OPTIONS] in the container, e.g. /tmp:size=64m (chroot plugin; repeatable)")
	fs.StringArrayVar(&o.binds, "bind", nil, "bind the host's SRC at DST in the container, SRC:DST[:ro] (chroot plugin; repeatable)")
	fs.BoolVar(&o.readOnly, "read-only", false, "make the container's root read-only (chroot plugin)")
	fs.StringVar(&o.pidsMax, "pids-max", "", "the most processes the container may have at once (cgroup plugin; default "+cgroupDefaultPids+")")
	fs.StringVar(&o.memory, "memory", "", "memory limit, e.g. 64M (cgroup plugin)")
	fs.StringVar(&o.cpus, "cpus", "", "CPU limit in CPUs, e.g. 0.5 (cgroup plugin)")
	fs.BoolVar(&o.stats, "stats", false, "at exit, report peak processes, peak memory and CPU time (cgroup plugin)")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "after forwarding SIGTERM, how long the container has to exit before crun kills it (0: at once)")
	fs.StringVarP(&o.user, "user", "u", "", "run the command as UID[:GID], numbers (runas plugin; GID 0 when left out)")
	fs.StringArrayVar(&o.groupAdd, "group-add", nil, "a supplementary group id for the command (runas plugin; repeatable)")
	fs.IntVar(&o.preserveFDs, "preserve-fds", 0, "pass crun's fds 3 to 3+N-1 on to the command (it gets no other fd beyond 0, 1 and 2)")
	fs.StringArrayVarP(&o.opts, "opt", "o", nil, "a plugin option, PLUGIN.KEY=VALUE (repeatable; see crun plugins)")
	fs.StringArrayVarP(&o.env, "env", "e", nil, "set KEY=VALUE in the command's environment, or KEY to copy crun's value (repeatable)")
	fs.BoolVar(&o.hostEnv, "host-env", false, "give the command crun's whole environment instead of a clean one")
	fs.StringVar(&o.name, "name", "", "the container's name (default: generated)")
	fs.StringVar(&o.pluginPath, "plugin-path", "", "directories searched for crun-plugin-NAME executables, colon-separated (before $CRUN_PLUGIN_PATH and "+strings.Join(DefaultPluginPath, ":")+")")
	fs.DurationVar(&o.pluginTimeout, "plugin-timeout", 5*time.Second, "how long a plugin may take to start, and to answer each call")
	fs.DurationVar(&o.hookTimeout, "hook-timeout", core.DefaultHookTimeout, "how long a plugin's live hook (network setup, cleanup) may take")
	fs.StringArrayVar(&o.pluginSHA256, "plugin-sha256", nil, "pin a third-party plugin: NAME=SHA256 (repeatable; also the sha256 map of "+DefaultPluginsConfig+" or $CRUN_PLUGINS_CONFIG)")
	fs.BoolVar(&o.noCache, "no-cache", false, "plan with the plugins even when a cached plan for the same inputs exists")
	fs.BoolVar(&o.trace, "trace", false, "print each step as it happens, with timings, on stderr")
	fs.BoolVar(&o.json, "json", false, "plan, plugins, probe: print JSON for tools")
	fs.StringSliceVar(&o.diff, "diff", nil, "plan: show what --plugins adds to (+) or takes from (-) the plan of these plugins, e.g. --diff uts,pid,mnt")
	fs.BoolVar(&o.explain, "explain", false, "plan: say in plain words why each namespace and step is there")
	fs.StringVar(&o.logLevel, "log-level", "off", "show what plugin processes log, from this level: error, warn, info, debug, trace (crun reports a plugin's failure itself)")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	fs.Usage = func() {}
	return fs
}

// Main runs the CLI and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(io.Discard)
	o.changed = fs.Changed
	// Flags may come before the command word...
	if err := fs.Parse(args); err != nil {
		return usageError(stderr, err)
	}
	rest := fs.Args()
	if o.help {
		fmt.Fprintf(stdout, usage, fs.FlagUsages())
		return 0
	}
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "crun: no command: use run, plan, probe, plugins, rootfs, spec, features, cleanup or version (crun --help)\n")
		return core.ExitCrunFailed
	}
	verb, rest := rest[0], rest[1:]
	// Only a run keeps the signals caught from the start (main).
	if verb != "run" && verb != "probe" {
		core.ReleaseSignals()
	}
	// rootfs has flags of its own.
	if verb == "rootfs" {
		return cmdRootfs(rest, stdout, stderr)
	}
	// ...and after it, up to the command to run.
	if err := fs.Parse(rest); err != nil {
		return usageError(stderr, err)
	}
	rest = fs.Args()
	if o.help {
		fmt.Fprintf(stdout, usage, fs.FlagUsages())
		return 0
	}

	switch verb {
	case "run":
		return cmdRun(&o, rest, stdin, stdout, stderr)
	case "plan":
		return ociExit(o.bundle != "", cmdPlan(&o, rest, stdout, stderr))
	case "probe":
		return cmdProbe(&o, rest, stdout, stderr)
	case probeVerb:
		return probeInside(stdin, stdout)
	case "plugins":
		return cmdPlugins(&o, rest, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "crun %s (the plugin container runtime, in Go; %s; plugin protocols %d to %d)\n",
			Version, runtime.Version(), spec.OldestProtocolVersion, spec.ProtocolVersion)
		fmt.Fprintf(stdout, "not the OCI runtime crun written in C (Debian's /usr/bin/crun)\n")
		return 0
	case "cleanup":
		return cmdCleanup(&o, rest, stdout, stderr)
	case "spec":
		return ociExit(true, cmdSpec(&o, rest, stdout, stderr))
	case "features":
		return ociExit(true, cmdFeatures(rest, stdout, stderr))
	case "rootfs":
		return cmdRootfs(rest, stdout, stderr)
	case "help":
		fmt.Fprintf(stdout, usage, fs.FlagUsages())
		return 0
	default:
		fmt.Fprintf(stderr, "crun: unknown command %q: use run, plan, probe, plugins, rootfs, spec, features, cleanup or version (crun --help)\n", verb)
		return core.ExitCrunFailed
	}
}

func usageError(stderr io.Writer, err error) int {
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "crun: %v (crun --help)\n", err)
	return core.ExitCrunFailed
}

// request turns the flags and the command into a core request.
func request(o *options, command []string) (core.Request, error) {
	req := core.Request{
		Plugins:     o.plugins,
		Command:     command,
		HostEnv:     o.hostEnv,
		ContainerID: o.name,
		Trace:       o.trace,
	}
	if o.hostname != "" {
		req.Options = append(req.Options, core.Option{Plugin: "uts", Key: "hostname", Value: o.hostname, Flag: "--hostname"})
	}
	if o.rootfs != "" {
		abs, err := filepath.Abs(o.rootfs)
		if err != nil {
			return req, fmt.Errorf("--rootfs %s: %w", o.rootfs, err)
		}
		req.Options = append(req.Options, core.Option{Plugin: "chroot", Key: "rootfs", Value: abs, Flag: "--rootfs"})
	}
	if o.workdir != "" {
		req.Options = append(req.Options, core.Option{Plugin: "chroot", Key: "workdir", Value: o.workdir, Flag: "--workdir"})
	}
	for _, t := range o.tmpfs {
		req.Options = append(req.Options, core.Option{Plugin: "chroot", Key: "tmpfs", Value: t, Flag: "--tmpfs"})
	}
	for _, b := range o.binds {
		// A relative source is relative to where crun runs.
		if src, rest, ok := strings.Cut(b, ":"); ok && src != "" && !filepath.IsAbs(src) {
			if abs, err := filepath.Abs(src); err == nil {
				b = abs + ":" + rest
			}
		}
		req.Options = append(req.Options, core.Option{Plugin: "chroot", Key: "bind", Value: b, Flag: "--bind"})
	}
	for _, f := range []struct{ flag, key, value string }{
		{"--pids-max", "pids-max", o.pidsMax}, {"--memory", "memory", o.memory}, {"--cpus", "cpus", o.cpus},
	} {
		if f.value != "" {
			req.Options = append(req.Options, core.Option{Plugin: "cgroup", Key: f.key, Value: f.value, Flag: f.flag})
		}
	}
	if o.stats {
		req.Options = append(req.Options, core.Option{Plugin: "cgroup", Key: "stats", Value: "true", Flag: "--stats"})
	}
	if o.user != "" {
		req.Options = append(req.Options, core.Option{Plugin: "runas", Key: "user", Value: o.user, Flag: "--user"})
	}
	for _, g := range o.groupAdd {
		req.Options = append(req.Options, core.Option{Plugin: "runas", Key: "groups", Value: g, Flag: "--group-add"})
	}
	if err := runFlags(o, &req); err != nil {
		return req, err
	}
	if o.readOnly {
		req.Options = append(req.Options, core.Option{Plugin: "chroot", Key: "readonly", Value: "true", Flag: "--read-only"})
	}
	for _, kv := range o.opts {
		opt, err := parseOption(kv)
		if err != nil {
			return req, err
		}
		req.Options = append(req.Options, opt)
	}
	for _, kv := range o.env {
		key, _, hasValue := strings.Cut(kv, "=")
		if key == "" {
			return req, fmt.Errorf("--env %q: want KEY=VALUE or KEY", kv)
		}
		if !hasValue {
			// As docker does: a variable crun's environment lacks is
			// left out, not set empty.
			v, ok := os.LookupEnv(key)
			if !ok {
				continue
			}
			kv = key + "=" + v
		}
		req.Env = append(req.Env, kv)
	}
	return req, nil
}

// runFlags sets what the flags say of a run itself, whether its container
// comes from the command line or from a bundle.
func runFlags(o *options, req *core.Request) error {
	if o.stopTimeout < 0 {
		return fmt.Errorf("--stop-timeout %s: want 0 (kill at once after SIGTERM) or more", o.stopTimeout)
	}
	req.StopTimeout = o.stopTimeout
	if o.preserveFDs < 0 {
		return fmt.Errorf("--preserve-fds %d: want 0 or more fds to pass on", o.preserveFDs)
	}
	req.PreserveFDs = o.preserveFDs
	return nil
}

// parseOption reads PLUGIN.KEY=VALUE.
func parseOption(s string) (core.Option, error) {
	name, value, ok := strings.Cut(s, "=")
	plugin, key, dot := strings.Cut(name, ".")
	if !ok || !dot || plugin == "" || key == "" {
		return core.Option{}, fmt.Errorf("-o %q: want PLUGIN.KEY=VALUE, e.g. -o uts.hostname=box", s)
	}
	return core.Option{Plugin: plugin, Key: key, Value: value}, nil
}

// engine builds the core engine from the flags.
func engine(o *options) (*core.Engine, func(), error) {
	switch o.logLevel {
	case "off", "error", "warn", "info", "debug", "trace":
	default:
		return nil, nil, fmt.Errorf("--log-level %q: want off, error, warn, info, debug or trace", o.logLevel)
	}
	if o.hookTimeout <= 0 {
		return nil, nil, fmt.Errorf("--hook-timeout %v: want a positive duration, such as 30s", o.hookTimeout)
	}
	configPath := os.Getenv("CRUN_PLUGINS_CONFIG")
	if configPath == "" {
		configPath = DefaultPluginsConfig
	}
	pins, err := core.LoadPins(configPath)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range o.pluginSHA256 {
		name, sum, ok := strings.Cut(p, "=")
		if !ok {
			return nil, nil, fmt.Errorf("--plugin-sha256 %q: want NAME=SHA256", p)
		}
		if err := pins.Add(name, sum); err != nil {
			return nil, nil, fmt.Errorf("--plugin-sha256: %w", err)
		}
	}
	// Plugins are launched by crun's plugin host, crun-plugins, started
	// only when a plan is not in the cache.
	launcher := &remote.Launcher{
		Args:   []string{"--plugin-timeout", o.pluginTimeout.String(), "--log-level", o.logLevel},
		Stderr: os.Stderr,
	}
	e := &core.Engine{
		Builtins:    builtin.Names(),
		PluginPath:  pluginPath(o),
		Pins:        pins,
		CallTimeout: o.pluginTimeout,
		HookTimeout: o.hookTimeout,
		Cache:       !o.noCache,
		Launcher:    launcher,
		// This is crun's own command line (main passes os.Args on).
		SealInit: true,
	}
	return e, launcher.Close, nil
}

func pluginPath(o *options) []string {
	var dirs []string
	for _, p := range []string{o.pluginPath, os.Getenv("CRUN_PLUGIN_PATH")} {
		if p != "" {
			dirs = append(dirs, strings.Split(p, ":")...)
		}
	}
	return append(dirs, DefaultPluginPath...)
}

// prepare turns the flags and the command of run or plan into a request
// and an engine; on failure it has said why, and ok is false.
func prepare(verb string, o *options, command []string, stderr io.Writer) (req core.Request, e *core.Engine, cleanup func(), ok bool) {
	var err error
	switch {
	case o.bundle != "":
		req, err = bundleRequest(verb, o, command)
	case len(command) == 0:
		fmt.Fprintf(stderr, "crun: %s: no command given: crun [flags] %s [--] COMMAND [ARG...], or %s --bundle DIR [ID]\n", verb, verb, verb)
		return req, nil, nil, false
	default:
		req, err = request(o, command)
	}
	if err == nil {
		e, cleanup, err = engine(o)
	}
	if err != nil {
		fmt.Fprintf(stderr, "crun: %v\n", err)
		return req, nil, nil, false
	}
	return req, e, cleanup, true
}

func cmdRun(o *options, command []string, stdin io.Reader, stdout, stderr io.Writer) int {
	oci := o.bundle != ""
	req, e, cleanup, ok := prepare("run", o, command, stderr)
	if !ok {
		return ociExit(oci, core.ExitCrunFailed)
	}
	defer cleanup()
	code, err := e.Run(context.Background(), req, core.Stdio{In: stdin, Out: stdout, Err: stderr}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "crun: %v\n", err)
		if oci {
			return exitOCIFailed
		}
	}
	return code
}

// exitOCIFailed is the exit code of OCI's command line when crun fails,
// runc's: the container's own status otherwise.
const exitOCIFailed = 1

// ociExit turns crun's own failure code (125) into OCI's (1) for the
// commands of OCI's command line (run and plan --bundle, spec, features),
// which have no container status to confuse it with.
func ociExit(oci bool, code int) int {
	if oci && code == core.ExitCrunFailed {
		return exitOCIFailed
	}
	return code
}
