// Package mask is the built-in mask plugin: the parts of /proc and /sys
// that let root in a container read the host's secrets or change the
// host's kernel are hidden, or made read-only, as Docker does.
//
// Without it, root in the container writes /proc/sys/kernel/core_pattern
// (the kernel then runs a program of the container's choosing, as root,
// on the host, at the next crash), triggers /proc/sysrq-trigger, reads
// /proc/kcore (the host's memory) or /proc/keys.
//
// Hidden (Docker's masked paths): /proc/acpi, /proc/asound, /proc/kcore,
// /proc/keys, /proc/latency_stats, /proc/timer_list, /proc/timer_stats,
// /proc/sched_debug, /proc/scsi, /sys/firmware. Read-only: /proc/bus,
// /proc/fs, /proc/irq, /proc/sys, /proc/sysrq-trigger. Options add paths
// to each list. Whether a path exists, and whether it is a file (hidden
// under /dev/null) or a directory (under an empty read-only tmpfs), is
// decided by crun's init when the step runs, in the container: the host
// has nothing to say about a rootfs's paths.
//
// Requires the mnt plugin (its steps would otherwise hide the host's
// paths): crun refuses the plan without it. Steps: in the configure
// phase, after the root switch and the mounts of /proc.
package mask

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Hidden and ReadOnly are Docker's lists.
var (
	Hidden = []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}
	ReadOnly = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// Plugin is the mask plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:     "mask",
		Version:  Version,
		Summary:  "hide /proc's and /sys's dangerous paths (/proc/kcore...), make others read-only (/proc/sys...)",
		Requires: []string{"mnt"},
		After:    []string{"mnt", "pid", "chroot"},
		Options: []spec.Option{
			{Name: "hide", Type: spec.TypeString, Repeatable: true, Help: "more paths to hide, comma-separated"},
			{Name: "readonly", Type: spec.TypeString, Repeatable: true, Help: "more paths to make read-only, comma-separated"},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	hidden, err := paths("hide", Hidden, req.Options["hide"])
	if err != nil {
		return spec.Contribution{}, err
	}
	readOnly, err := paths("readonly", ReadOnly, req.Options["readonly"])
	if err != nil {
		return spec.Contribution{}, err
	}
	var c spec.Contribution
	for _, p := range hidden {
		c.Steps = append(c.Steps, spec.Step{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: p},
			Requires: []spec.Namespace{spec.NamespaceMount}, Why: why(p)})
	}
	for _, p := range readOnly {
		c.Steps = append(c.Steps, spec.Step{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: p, ReadOnly: true},
			Requires: []spec.Namespace{spec.NamespaceMount}, Why: why(p)})
	}
	return c, nil
}

// reasons say what each of Docker's paths gives away.
var reasons = map[string]string{
	"/proc/kcore":         "the host's physical memory, as a core file",
	"/proc/keys":          "the kernel keyrings of every user of the host",
	"/proc/timer_list":    "the host's timers, with the kernel addresses that defeat KASLR",
	"/proc/sched_debug":   "every process of the host, with its scheduling data",
	"/proc/sys":           "the kernel's settings: core_pattern runs a program of the writer's choosing, as root, on the host",
	"/proc/sysrq-trigger": "a write reboots or crashes the host",
	"/sys/firmware":       "the host's firmware tables",
}

func why(p string) string {
	if r, ok := reasons[p]; ok {
		return r
	}
	return "hidden or read-only, as container engines have it"
}

// paths returns a list with a repeatable option's comma-separated paths
// added.
func paths(option string, base []string, value string) ([]string, error) {
	out := slices.Clone(base)
	for _, line := range strings.Split(value, "\n") {
		for _, p := range strings.Split(line, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !path.IsAbs(p) || path.Clean(p) != p {
				return nil, fmt.Errorf("option %s: %q: want a clean absolute path in the container", option, p)
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}
