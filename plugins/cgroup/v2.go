package cgroup

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// contributeV2 builds the cgroup v2 plan: one directory, with the
// controllers it needs enabled in every parent's cgroup.subtree_control.
//
// v2's no-internal-process rule: a cgroup that passes controllers to its
// children must not hold processes itself (the root excepted). crun only
// puts processes in the container's own leaf, and refuses a parent that
// already holds some.
func contributeV2(h host, parent, id string, lim limits) (spec.Contribution, error) {
	var wanted []string
	if lim.pidsMax != "max" || lim.stats {
		wanted = append(wanted, "pids")
	}
	if lim.memory > 0 || lim.stats {
		wanted = append(wanted, "memory")
	}
	if lim.quota > 0 {
		wanted = append(wanted, "cpu")
	}
	for _, c := range wanted {
		if err := h.need(c, need(c)); err != nil {
			return spec.Contribution{}, err
		}
	}
	enable := ""
	if len(wanted) > 0 {
		enable = "+" + strings.Join(wanted, " +")
	}

	var c spec.Contribution
	host := func(s spec.HostStep) { c.HostSteps = append(c.HostSteps, s) }
	level := h.root
	if enable != "" {
		host(write(path.Join(level, "cgroup.subtree_control"), enable, "pass the controllers down from the root"))
	}
	if parent != "" {
		for _, part := range strings.Split(parent, "/") {
			level = path.Join(level, part)
			if err := noInternalProcesses(level); err != nil {
				return c, err
			}
			c.DependsOn = append(c.DependsOn, path.Join(level, "cgroup.procs"))
			host(mkdir(level, ""))
			if enable != "" {
				host(write(path.Join(level, "cgroup.subtree_control"), enable, "pass the controllers down (this cgroup holds no processes)"))
			}
		}
	}
	dir := path.Join(level, id)
	host(mkdir(dir, "the container's cgroup"))
	if lim.pidsMax != "max" {
		host(write(path.Join(dir, "pids.max"), lim.pidsMax, "the process limit that contains a fork bomb"))
	}
	if lim.memory > 0 {
		host(write(path.Join(dir, "memory.max"), strconv.FormatInt(lim.memory, 10), "the memory limit"))
		host(writeIfExists(path.Join(dir, "memory.swap.max"), "0", "no swapping around the memory limit (where the kernel accounts swap)"))
	}
	if lim.quota > 0 {
		host(write(path.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", lim.quota, period),
			fmt.Sprintf("%dµs of CPU time per %dµs period", lim.quota, period)))
	}
	c.CloneIntoCgroup = dir
	host(attach(dir))
	if lim.stats {
		host(report(path.Join(dir, "pids.peak"), "", "peak processes", "", false))
		host(report(path.Join(dir, "memory.peak"), "", "peak memory", "bytes", false))
		host(report(path.Join(dir, "cpu.stat"), "usage_usec", "CPU time", "us", false))
	}
	if lim.memory > 0 {
		host(report(path.Join(dir, "memory.events"), "oom_kill", oomLabel(lim), "", true))
	}
	host(kill(dir))
	host(rmdir(dir))
	return c, nil
}

// noInternalProcesses refuses a parent cgroup that holds processes.
func noInternalProcesses(dir string) error {
	b, err := os.ReadFile(path.Join(dir, "cgroup.procs"))
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return nil // not there yet, or empty
	}
	return fmt.Errorf("the cgroup %s holds processes of its own, so cgroup v2 cannot pass controllers through it "+
		"(the no-internal-process rule): choose another -o cgroup.parent", dir)
}
