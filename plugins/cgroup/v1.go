package cgroup

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"

	"github.com/crun-project/crun/sdk/spec"
)

// contributeV1 builds the cgroup v1 plan: a directory per controller.
func contributeV1(h host, parent, id string, lim limits) (spec.Contribution, error) {
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
	if lim.stats {
		wanted = append(wanted, "cpuacct")
	}
	// cpu and cpuacct are often one hierarchy ("cpu,cpuacct", with
	// symlinks): one directory then serves both.
	dirs := map[string]string{}
	var order []string
	seen := map[string]bool{}
	for _, c := range wanted {
		if err := h.need(c, need(c)); err != nil {
			return spec.Contribution{}, err
		}
		hierarchy := path.Join(h.root, c)
		if real, err := filepath.EvalSymlinks(hierarchy); err == nil {
			hierarchy = real
		}
		dirs[c] = path.Join(hierarchy, parent, id)
		if !seen[dirs[c]] {
			seen[dirs[c]] = true
			order = append(order, dirs[c])
		}
	}

	var c spec.Contribution
	host := func(s spec.HostStep) { c.HostSteps = append(c.HostSteps, s) }
	for _, d := range order {
		host(mkdir(d, "the container's cgroup in this v1 hierarchy"))
		host(write(path.Join(d, "notify_on_release"), "0", "never run the hierarchy's release_agent for this cgroup"))
	}
	if len(order) == 0 {
		return c, fmt.Errorf("nothing to limit: give --pids-max, --memory, --cpus or --stats")
	}
	if dirs["pids"] != "" {
		host(write(path.Join(dirs["pids"], "pids.max"), lim.pidsMax, "the process limit that contains a fork bomb"))
	}
	if lim.memory > 0 {
		bytes := strconv.FormatInt(lim.memory, 10)
		host(write(path.Join(dirs["memory"], "memory.limit_in_bytes"), bytes, "the memory limit"))
		host(writeIfExists(path.Join(dirs["memory"], "memory.memsw.limit_in_bytes"), bytes,
			"memory plus swap at the same limit: no swapping around it (where the kernel accounts swap)"))
	}
	if lim.quota > 0 {
		host(write(path.Join(dirs["cpu"], "cpu.cfs_period_us"), strconv.Itoa(period), ""))
		host(write(path.Join(dirs["cpu"], "cpu.cfs_quota_us"), strconv.FormatInt(lim.quota, 10),
			fmt.Sprintf("%dµs of CPU time per %dµs period", lim.quota, period)))
	}
	// The init joins its cgroups itself, first of all (see
	// spec.JoinCgroup: a host-side attach costs an RCU grace period).
	for _, d := range order {
		c.Steps = append(c.Steps, spec.Step{Phase: spec.PhasePrepare, JoinCgroup: &spec.JoinCgroup{Path: d},
			Why: "crun's init joins the container's cgroup before anything else, so the command and all it forks are in it"})
	}
	if lim.stats {
		host(report(path.Join(dirs["pids"], "pids.peak"), "", "peak processes", "", false))
		host(report(path.Join(dirs["memory"], "memory.max_usage_in_bytes"), "", "peak memory", "bytes", false))
		host(report(path.Join(dirs["cpuacct"], "cpuacct.usage"), "", "CPU time", "ns", false))
	}
	if lim.memory > 0 {
		host(report(path.Join(dirs["memory"], "memory.oom_control"), "oom_kill", oomLabel(lim), "", true))
	}
	for _, d := range order {
		host(kill(d))
	}
	for _, d := range order {
		host(rmdir(d))
	}
	return c, nil
}

// need says what a controller is needed for.
func need(controller string) string {
	switch controller {
	case "pids":
		return "the process limit (pids-max)"
	case "memory":
		return "the memory limit (or stats)"
	case "cpu":
		return "the CPU limit (cpus)"
	case "cpuacct":
		return "the CPU time in stats"
	}
	return controller
}
