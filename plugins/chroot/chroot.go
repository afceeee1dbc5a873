// Package chroot is the built-in chroot plugin: it moves the container
// into a root file system of its own, with a fresh /proc, a minimal /dev
// and the user's extra mounts (--tmpfs, --bind, --read-only).
//
// How the root moves depends on the mount namespace:
//   - with mnt (the default method, pivot), pivot_root makes the rootfs
//     the root of the namespace and the old root is detached: nothing of
//     the host remains reachable, and the classic escape (chroot into a
//     subdirectory, climb with "..", chroot ".") finds no host behind it;
//   - without mnt it uses chroot(2), as the talk does. The old root stays
//     reachable to a privileged process, and the mounts below (/proc,
//     /dev, tmpfs) are the host's until crun unmounts them at exit. The
//     plugin warns about both.
//
// Devices: a device node the container was not given does not open,
// whether its rootfs holds it, a bound directory does, or it is made
// inside (with CAP_MKNOD) in /dev or a --tmpfs: all of those are mounted
// nodev (-o chroot.nodev=false lifts it). The host's harmless devices
// crun binds into /dev, and a device bound on its own with --bind, are
// mounts of their own and open. Why nodev rather than a device cgroup:
// the VFS enforces it at open for every process, with or without the
// cgroup plugin, as root and rootless alike (an ordinary user gets no
// device cgroup; cgroup v2 would need an eBPF program), and it costs a
// remount per mount rather than a program per container.
//
// -o chroot.method=chroot|pivot forces one method (pivot needs mnt).
// Steps: mounts in the mount phase (targets resolved inside the rootfs, so
// a symlink in it cannot point a mount at the host), the root switch in
// the root phase, which leaves the process in "/", then, in the configure
// phase, a chdir to -o chroot.workdir (--workdir) when it is not "/": it
// can only come after the root switch, and before the user change of the
// restrict phase, so that a directory only root may enter still works.
package chroot

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Plugin is the chroot plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "chroot",
		Version: Version,
		Summary: "a root file system of the container's own (pivot_root with mnt, chroot without), with /proc, /dev and extra mounts",
		After:   []string{"mnt", "pid"},
		Options: []spec.Option{
			{Name: "rootfs", Type: spec.TypeString, Help: "the root file system directory (also --rootfs; crun rootfs create DIR makes one)", Public: true},
			{Name: "method", Type: spec.TypeString, Default: "auto", Help: "auto (pivot with mnt, chroot without), pivot or chroot"},
			{Name: "readonly", Type: spec.TypeBool, Default: "false", Help: "mount the root read-only (also --read-only)", Public: true},
			{Name: "tmpfs", Type: spec.TypeString, Repeatable: true, Help: "a tmpfs at PATH[:OPTIONS] in the container, e.g. /tmp:size=64m (also --tmpfs)", Public: true},
			{Name: "bind", Type: spec.TypeString, Repeatable: true, Help: "bind the host's SRC at DST in the container, SRC:DST[:ro] (also --bind)", Public: true},
			{Name: "workdir", Type: spec.TypeString, Default: "/", Help: "the command's working directory in the container, an absolute path (also --workdir)", Public: true},
			{Name: "dev", Type: spec.TypeBool, Default: "true", Help: "mount a minimal /dev (null, zero, full, random, urandom, tty, pts, shm)", Public: true},
			{Name: "nodev", Type: spec.TypeBool, Default: "true",
				Help: "device nodes in the rootfs, /dev's tmpfs and --tmpfs mounts do not open (nodev): only the devices crun binds into /dev do (needs mnt for the rootfs)"},
		},
	}, nil
}

// config is the plugin's options, parsed.
type config struct {
	rootfs   string
	pivot    bool
	readonly bool
	workdir  string // absolute, cleaned; "/" needs no step
	dev      bool
	// nodev: the rootfs (with mnt) and crun's tmpfs mounts get nodev.
	nodev bool
	tmpfs []tmpfsMount
	binds []bindMount
}

type tmpfsMount struct {
	target string
	flags  []string
	data   string
}

type bindMount struct {
	source, target string
	readonly       bool
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	withMnt := enabled(req.Plugins, "mnt")
	cfg, err := parse(req.Options, withMnt)
	if err != nil {
		return spec.Contribution{}, err
	}
	root := cfg.rootfs
	// The plan depends on the rootfs being there (checked above): a
	// cached plan is reused only while it is the same directory, reached
	// the same way (the path as given may be a symlink).
	c := spec.Contribution{DependsOn: []string{opts(req, "rootfs"), root}}
	add := func(s spec.Step) { c.Steps = append(c.Steps, s) }
	mountIn := func(m spec.Mount, why string) {
		m.Root = root
		add(spec.Step{Phase: spec.PhaseMount, Mount: &m, Why: why})
	}

	// Device nodes the container brings (in its rootfs, or made in its
	// tmpfs mounts with CAP_MKNOD) stay closed: nodev on those mounts.
	// The devices crun binds into /dev are mounts of their own, and work.
	nodevRoot := cfg.nodev && withMnt
	if cfg.pivot || cfg.readonly || nodevRoot {
		// pivot_root needs the new root to be a mount point, and a
		// read-only or nodev root needs a mount of its own to remount.
		add(spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: root, Target: root, Flags: []string{"bind", "rec"}},
			Why: "bind the rootfs onto itself: pivot_root needs a mount point, and --read-only and nodev a mount of their own"})
	}
	if nodevRoot && !cfg.readonly {
		add(spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: root, Target: root, Flags: []string{"remount", "bind", "nodev"}},
			Why: "a device node in the rootfs does not open (nodev): a container reaches only the devices crun gives it"})
	}
	procWhy := "a /proc inside the new root; by crun's init, which is in the new PID namespace"
	if !enabled(req.Plugins, "pid") {
		procWhy = "a /proc inside the new root (without pid it shows the host's processes)"
	}
	mountIn(spec.Mount{Source: "proc", Target: "/proc", FSType: "proc", Flags: []string{"nosuid", "nodev", "noexec"}, CreateTarget: true}, procWhy)
	if cfg.dev {
		for _, s := range devSteps(root, cfg.nodev) {
			add(s)
		}
	}
	for _, t := range cfg.tmpfs {
		flags := t.flags
		if cfg.nodev && !slices.Contains(flags, "nodev") {
			flags = append(flags, "nodev")
		}
		mountIn(spec.Mount{Source: "tmpfs", Target: t.target, FSType: "tmpfs", Flags: flags, Data: t.data, CreateTarget: true},
			"--tmpfs "+t.target)
	}
	for _, b := range cfg.binds {
		mountIn(spec.Mount{Source: b.source, Target: b.target, Flags: []string{"bind", "rec"}, CreateTarget: true},
			"--bind "+b.source+":"+b.target)
		// A device node bound on its own is given to the container; one
		// found in a bound directory is not.
		fi, err := os.Stat(b.source)
		nodev := cfg.nodev && (err != nil || fi.Mode()&os.ModeDevice == 0)
		c.DependsOn = append(c.DependsOn, b.source)
		switch {
		case b.readonly && nodev:
			mountIn(spec.Mount{Source: b.source, Target: b.target, Flags: []string{"remount", "bind", "ro", "nodev"}},
				"read-only (a bind mount takes ro only on a remount), and a device node in it does not open (nodev)")
		case b.readonly:
			mountIn(spec.Mount{Source: b.source, Target: b.target, Flags: []string{"remount", "bind", "ro"}},
				"make the bind mount read-only (a bind mount takes ro only on a remount)")
		case nodev:
			mountIn(spec.Mount{Source: b.source, Target: b.target, Flags: []string{"remount", "bind", "nodev"}},
				"a device node in the bound directory does not open (nodev): bind the device itself to give it")
		}
	}
	if cfg.readonly {
		flags := []string{"remount", "bind", "ro"}
		if nodevRoot {
			flags = append(flags, "nodev")
		}
		add(spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: root, Target: root, Flags: flags},
			Why: "--read-only: after the mounts inside it are made, the root itself becomes read-only"})
	}

	if !cfg.nodev {
		c.Warnings = append(c.Warnings, "chroot.nodev=false: a protection is off: device nodes the container brings "+
			"(in its rootfs, a bound directory, or made with CAP_MKNOD) open")
	}
	if cfg.pivot {
		add(spec.Step{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: root},
			Why: "the rootfs becomes /, and the old root is detached: nothing of the host stays reachable"})
	} else {
		add(spec.Step{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root},
			Why: "chroot(2), as in the talk: the old root stays reachable to a privileged process"})
		if withMnt {
			c.Warnings = append(c.Warnings, "chroot.method=chroot: the host's root stays reachable "+
				"(chroot into a subdirectory, chdir .. and chroot . escapes); the default pivot_root does not allow this")
		} else {
			c.Warnings = append(c.Warnings, "without the mnt plugin chroot uses chroot(2): the host's root stays reachable, "+
				"and the mounts in the rootfs (/proc, /dev, --tmpfs, --bind) are visible on the host until crun unmounts them at exit; "+
				"add mnt for pivot_root and private mounts")
		}
	}
	if cfg.workdir != "/" {
		add(spec.Step{Phase: spec.PhaseConfigure, Chdir: &spec.Chdir{Path: cfg.workdir},
			Why: "the command's working directory (--workdir), inside the new root"})
	}
	return c, nil
}

// devSteps builds a minimal /dev: a tmpfs with the harmless device nodes
// bound from the host's /dev (binding works where mknod is not allowed,
// e.g. in a user namespace), a private devpts instance, /dev/shm, and the
// links programs expect.
func devSteps(root string, nodev bool) []spec.Step {
	var steps []spec.Step
	mount := func(m spec.Mount, why string) {
		m.Root = root
		steps = append(steps, spec.Step{Phase: spec.PhaseMount, Mount: &m, Why: why})
	}
	flags := []string{"nosuid", "strictatime"}
	if nodev {
		flags = append(flags, "nodev")
	}
	mount(spec.Mount{Source: "tmpfs", Target: "/dev", FSType: "tmpfs", Flags: flags,
		Data: "mode=755,size=65536k", CreateTarget: true}, "a /dev of the container's own, not the host's devices")
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		mount(spec.Mount{Source: "/dev/" + d, Target: "/dev/" + d, Flags: []string{"bind"}, CreateTarget: true}, "")
	}
	mount(spec.Mount{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: []string{"nosuid", "noexec"},
		Data: "newinstance,ptmxmode=0666,mode=0620", CreateTarget: true}, "a devpts instance of its own: the host's terminals stay invisible")
	mount(spec.Mount{Source: "shm", Target: "/dev/shm", FSType: "tmpfs", Flags: []string{"nosuid", "nodev", "noexec"},
		Data: "mode=1777,size=65536k", CreateTarget: true}, "")
	for _, l := range [][2]string{{"pts/ptmx", "/dev/ptmx"}, {"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}} {
		steps = append(steps, spec.Step{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: l[0], Link: l[1]}})
	}
	return steps
}

func parse(opts map[string]string, withMnt bool) (config, error) {
	var cfg config
	cfg.rootfs = opts["rootfs"]
	if cfg.rootfs == "" {
		return cfg, fmt.Errorf("no root file system: give --rootfs DIR (crun rootfs create DIR makes one)")
	}
	if !path.IsAbs(cfg.rootfs) {
		return cfg, fmt.Errorf("rootfs %q: want an absolute path", cfg.rootfs)
	}
	cfg.rootfs = path.Clean(cfg.rootfs)
	if cfg.rootfs == "/" {
		return cfg, fmt.Errorf("rootfs /: the host's root is not a container's root")
	}
	// Mounts are made, recorded and undone at the real path: mountinfo
	// knows no symlinks.
	if real, err := filepath.EvalSymlinks(cfg.rootfs); err == nil {
		cfg.rootfs = real
	}
	fi, err := os.Stat(cfg.rootfs)
	switch {
	case os.IsNotExist(err):
		return cfg, fmt.Errorf("rootfs %s does not exist: crun rootfs create %s makes one", cfg.rootfs, cfg.rootfs)
	case err != nil:
		return cfg, fmt.Errorf("rootfs: %w", err)
	case !fi.IsDir():
		return cfg, fmt.Errorf("rootfs %s is not a directory", cfg.rootfs)
	}

	switch opts["method"] {
	case "", "auto":
		cfg.pivot = withMnt
	case "pivot":
		if !withMnt {
			return cfg, fmt.Errorf("method pivot needs the mnt plugin: pivot_root outside a mount namespace would move the host's root")
		}
		cfg.pivot = true
	case "chroot":
	default:
		return cfg, fmt.Errorf("method %q: want auto, pivot or chroot", opts["method"])
	}
	cfg.readonly, _ = strconv.ParseBool(opts["readonly"])
	cfg.workdir = "/"
	if w := opts["workdir"]; w != "" {
		if !path.IsAbs(w) {
			return cfg, fmt.Errorf("workdir %q: want an absolute path in the container, e.g. /home", w)
		}
		cfg.workdir = path.Clean(w)
	}
	cfg.dev, cfg.nodev = true, true
	if v, err := strconv.ParseBool(opts["dev"]); err == nil {
		cfg.dev = v
	}
	if v, err := strconv.ParseBool(opts["nodev"]); err == nil {
		cfg.nodev = v
	}
	for _, t := range lines(opts["tmpfs"]) {
		m, err := parseTmpfs(t)
		if err != nil {
			return cfg, err
		}
		cfg.tmpfs = append(cfg.tmpfs, m)
	}
	for _, b := range lines(opts["bind"]) {
		m, err := parseBind(b)
		if err != nil {
			return cfg, err
		}
		cfg.binds = append(cfg.binds, m)
	}
	return cfg, nil
}

// tmpfsFlags are the options of --tmpfs that are mount flags rather than
// tmpfs data.
var tmpfsFlags = map[string]bool{"ro": true, "nosuid": true, "nodev": true, "noexec": true,
	"relatime": true, "strictatime": true, "noatime": true}

// parseTmpfs reads PATH[:OPTIONS], OPTIONS as mount(8) takes them:
// "/tmp:size=64m,mode=1777,noexec".
func parseTmpfs(s string) (tmpfsMount, error) {
	target, options, _ := strings.Cut(s, ":")
	if !path.IsAbs(target) {
		return tmpfsMount{}, fmt.Errorf("--tmpfs %q: want an absolute PATH[:OPTIONS] in the container", s)
	}
	m := tmpfsMount{target: path.Clean(target)}
	if m.target == "/" {
		return m, fmt.Errorf("--tmpfs %q: a tmpfs on / would hide the whole rootfs: mount it elsewhere (e.g. /tmp), or use --read-only for a root the container cannot change", s)
	}
	var data []string
	for _, o := range strings.Split(options, ",") {
		switch {
		case o == "":
		case tmpfsFlags[o]:
			m.flags = append(m.flags, o)
		default:
			data = append(data, o)
		}
	}
	m.data = strings.Join(data, ",")
	return m, nil
}

// parseBind reads SRC:DST[:ro].
func parseBind(s string) (bindMount, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return bindMount{}, fmt.Errorf("--bind %q: want SRC:DST[:ro]", s)
	}
	b := bindMount{source: parts[0], target: parts[1]}
	if !path.IsAbs(b.source) || !path.IsAbs(b.target) {
		return b, fmt.Errorf("--bind %q: SRC and DST must be absolute paths", s)
	}
	if len(parts) == 3 {
		if parts[2] != "ro" && parts[2] != "rw" {
			return b, fmt.Errorf("--bind %q: the third field may only be ro or rw", s)
		}
		b.readonly = parts[2] == "ro"
	}
	b.target = path.Clean(b.target)
	if b.target == "/" {
		return b, fmt.Errorf("--bind %q: a bind on / would hide the whole rootfs: give the directory as --rootfs instead", s)
	}
	return b, nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func opts(req spec.ContributeRequest, key string) string { return path.Clean(req.Options[key]) }

func enabled(plugins []string, name string) bool {
	for _, p := range plugins {
		if p == name {
			return true
		}
	}
	return false
}
