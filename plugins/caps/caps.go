// Package caps is the built-in caps plugin: the container's processes
// keep only the capabilities container engines give by default (podman's
// eleven), not the whole of root's.
//
// Without it, root in the container holds every capability: it can load
// kernel modules, mount file systems, read raw devices, trace processes,
// change the clock. With it, it keeps CHOWN, DAC_OVERRIDE, FOWNER,
// FSETID, KILL, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and
// SYS_CHROOT: enough to act as root on its own files.
//
// Steps: one capabilities step in the restrict phase, after a user change
// (the runas plugin's, --user) and after seccomp, whose filter must be loaded
// while crun's init still may. The bounding, effective and permitted
// sets are the kept set; the inheritable and ambient sets are empty
// (CVE-2022-24769: an inheritable set gives capabilities to programs that
// carry file capabilities). Options: add and drop, lists of names
// (CAP_ prefix optional; drop=ALL keeps only what add names).
package caps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Default is the set container engines give a container (podman's), in
// capability order.
var Default = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP"}

// Plugin is the caps plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "caps",
		Version: Version,
		Summary: "drop capabilities to the set container engines keep by default",
		After:   []string{"runas", "seccomp", "nnp"},
		Options: []spec.Option{
			{Name: "add", Type: spec.TypeString, Repeatable: true,
				Help: "capabilities to keep besides the default ones, comma-separated (CAP_ prefix optional)"},
			{Name: "drop", Type: spec.TypeString, Repeatable: true,
				Help: "capabilities to drop from the default ones, comma-separated, or ALL"},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	kept, err := Set(names(req.Options["add"]), names(req.Options["drop"]))
	if err != nil {
		return spec.Contribution{}, err
	}
	return spec.Contribution{Steps: []spec.Step{{
		Phase:        spec.PhaseRestrict,
		Capabilities: &spec.Capabilities{Bounding: kept, Effective: kept, Permitted: kept, Inheritable: []string{}},
		Why: "root in the container keeps only these capabilities: no module loading, mounts, raw I/O, " +
			"tracing or clock changes; the bounding set keeps it from gaining others through exec",
	}}}, nil
}

// Set returns the default set with add added and drop dropped (drop ALL:
// only add), by canonical name, in capability order.
func Set(add, drop []string) ([]string, error) {
	kept := map[string]bool{}
	for _, n := range Default {
		kept[n] = true
	}
	for _, n := range drop {
		if strings.EqualFold(n, spec.AllCapabilities) {
			kept = map[string]bool{}
			continue
		}
		c, err := canonical("drop", n)
		if err != nil {
			return nil, err
		}
		delete(kept, c)
	}
	for _, n := range add {
		if strings.EqualFold(n, spec.AllCapabilities) {
			for _, c := range spec.CapabilityNames() {
				kept[c] = true
			}
			continue
		}
		c, err := canonical("add", n)
		if err != nil {
			return nil, err
		}
		kept[c] = true
	}
	set := []string{}
	for _, c := range spec.CapabilityNames() {
		if kept[c] {
			set = append(set, c)
		}
	}
	return set, nil
}

func canonical(option, name string) (string, error) {
	n, err := spec.CapabilityNumber(name)
	if err != nil {
		return "", fmt.Errorf("option %s: %w", option, err)
	}
	return spec.CapabilityName(n), nil
}

// names splits a repeatable option's value: its values are joined by
// newlines, each a comma-separated list.
func names(value string) []string {
	var out []string
	for _, line := range strings.Split(value, "\n") {
		for _, n := range strings.Split(line, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}
