// Package cgroup is the built-in cgroup plugin: a cgroup of the
// container's own, with limits on processes (the talk's fork bomb),
// memory and CPU.
//
// It works on cgroup v2 (one hierarchy, /sys/fs/cgroup/crun/ID, the
// controllers enabled in the parents' cgroup.subtree_control) and on
// cgroup v1 and hybrid hosts (one directory per controller,
// /sys/fs/cgroup/pids/crun/ID, ...). All of it is host steps: the
// directories and limits before the clone, the attachment while the child
// waits (so nothing the command forks escapes), and after exit, a report,
// the killing of whatever is left and the removal of the directories. On
// v2 the child is also created inside its cgroup (CLONE_INTO_CGROUP).
//
// It never writes release_agent and sets notify_on_release to 0: the
// release_agent escape (CVE-2022-0492) lives right next to what the
// talk's cg() wrote.
package cgroup

import (
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// DefaultPidsMax is the process limit when none is given: high enough for
// ordinary work, low enough that a fork bomb hits it at once.
const DefaultPidsMax = "1024"

// Plugin is the cgroup plugin. Root, when set, replaces /sys/fs/cgroup
// (tests).
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "cgroup",
		Version: Version,
		Summary: "a cgroup of the container's own: limits on processes, memory and CPU (cgroup v1 and v2)",
		Options: []spec.Option{
			{Name: "pids-max", Type: spec.TypeString, Default: DefaultPidsMax, Help: "the most processes (and threads) at once, or max (also --pids-max)"},
			{Name: "memory", Type: spec.TypeString, Help: "memory limit, e.g. 64M (also --memory); swap is limited too where the host has it"},
			{Name: "cpus", Type: spec.TypeFloat, Help: "CPU limit in CPUs, e.g. 0.5: a quota over a 100ms period (also --cpus)"},
			{Name: "parent", Type: spec.TypeString, Default: "crun", Help: "the cgroup under which the container's is made, relative to the hierarchy's root"},
			{Name: "stats", Type: spec.TypeBool, Default: "false", Help: "at exit, report the peak processes and memory, and the CPU time used (also --stats)"},
			{Name: "root", Type: spec.TypeString, Default: "/sys/fs/cgroup", Help: "where the cgroup hierarchies are mounted"},
			{Name: "version", Type: spec.TypeString, Default: "auto", Help: "auto, 1 or 2: which cgroup layout to use (auto detects the host's)"},
		},
	}, nil
}

// limits are the parsed options.
type limits struct {
	pidsMax string // "" for none, "max" or a number
	memory  int64  // bytes, 0 for none
	memText string // as the user gave it, for messages
	quota   int64  // CPU quota in µs per period, 0 for none
	stats   bool
}

// period is the CPU bandwidth period, in µs (the kernel's default).
const period = 100000

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	lim, err := parseLimits(req.Options)
	if err != nil {
		return spec.Contribution{}, err
	}
	parent := strings.Trim(path.Clean("/"+req.Options["parent"]), "/")
	if strings.Contains(req.Options["parent"], "..") {
		return spec.Contribution{}, fmt.Errorf("parent %q: must not contain ..", req.Options["parent"])
	}
	host, err := detect(req.Options["root"], req.Options["version"])
	if err != nil {
		return spec.Contribution{}, err
	}
	var c spec.Contribution
	if host.version == 2 {
		c, err = contributeV2(host, parent, req.ContainerID, lim)
	} else {
		c, err = contributeV1(host, parent, req.ContainerID, lim)
	}
	if err == nil && os.Geteuid() != 0 {
		err = checkDelegated(c)
	}
	// What the plan was made from: a cached plan is reused only while
	// these are unchanged.
	c.DependsOn = append(c.DependsOn, host.inputs...)
	return c, err
}

// checkDelegated refuses, for an ordinary user, a plan whose cgroup it
// may not create: cgroups are root's, unless one was delegated to the
// user (cgroup v2, by systemd's Delegate=yes). Said now, before anything
// exists, rather than by the first mkdir.
func checkDelegated(c spec.Contribution) error {
	for _, h := range c.HostSteps {
		if h.Mkdir == nil {
			continue
		}
		dir := h.Mkdir.Path
		for {
			if _, err := os.Stat(dir); err == nil || dir == "/" {
				break
			}
			dir = path.Dir(dir)
		}
		if unix.Access(dir, unix.W_OK) != nil {
			return fmt.Errorf("crun runs as uid %d, and may not create cgroups in %s (root's): run crun as root, "+
				"point -o cgroup.parent at a cgroup v2 delegated to you (systemd's Delegate=yes), "+
				"or leave cgroup out (--plugins default does, for an ordinary user)", os.Geteuid(), dir)
		}
	}
	return nil
}

func parseLimits(opts map[string]string) (limits, error) {
	var lim limits
	switch p := opts["pids-max"]; p {
	case "", "max", "0":
		lim.pidsMax = "max"
	default:
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 1 {
			return lim, fmt.Errorf("pids-max %q: want a number of processes (at least 1) or max", p)
		}
		lim.pidsMax = p
	}
	if m := opts["memory"]; m != "" {
		n, err := spec.ParseSize(m)
		if err != nil {
			return lim, fmt.Errorf("memory: %w", err)
		}
		if n < 1<<20 {
			return lim, fmt.Errorf("memory %q: at least 1M, or the container cannot even start", m)
		}
		lim.memory, lim.memText = n, m
	}
	if c := opts["cpus"]; c != "" {
		f, err := strconv.ParseFloat(c, 64)
		if err != nil || f <= 0 {
			return lim, fmt.Errorf("cpus %q: want a positive number of CPUs, e.g. 0.5", c)
		}
		lim.quota = int64(math.Round(f * period)) // 0.29 CPUs is 29000, not 28999
		if lim.quota < 1000 {
			return lim, fmt.Errorf("cpus %q: at least 0.01", c)
		}
	}
	lim.stats, _ = strconv.ParseBool(opts["stats"])
	return lim, nil
}

// step helpers, so the contributions read like a script.

func mkdir(p, why string) spec.HostStep {
	return spec.HostStep{Point: spec.HookBeforeClone, Mkdir: &spec.Mkdir{Path: p}, Why: why}
}

func write(p, content, why string) spec.HostStep {
	return spec.HostStep{Point: spec.HookBeforeClone, WriteFile: &spec.WriteFile{Path: p, Content: content}, Why: why}
}

func writeIfExists(p, content, why string) spec.HostStep {
	h := write(p, content, why)
	h.WriteFile.IfExists = true
	return h
}

func attach(dir string) spec.HostStep {
	return spec.HostStep{Point: spec.HookAfterClone, WritePid: &spec.WritePid{Path: path.Join(dir, "cgroup.procs")},
		Why: "attach the child while it waits, before the command can fork"}
}

func report(p, key, label, unit string, nonZero bool) spec.HostStep {
	return spec.HostStep{Point: spec.HookAfterExit, Report: &spec.Report{Path: p, Key: key, Label: label, Unit: unit, NonZero: nonZero}}
}

func kill(dir string) spec.HostStep {
	return spec.HostStep{Point: spec.HookAfterExit, KillCgroup: &spec.KillCgroup{Path: dir},
		Why: "nothing the container started outlives it"}
}

func rmdir(dir string) spec.HostStep {
	return spec.HostStep{Point: spec.HookAfterExit, RemoveDir: &spec.RemoveDir{Path: dir}}
}

func oomLabel(lim limits) string {
	return fmt.Sprintf("the memory limit (%s) was hit: processes killed by the OOM killer", lim.memText)
}
