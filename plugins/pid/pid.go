// Package pid is the built-in pid plugin: a new PID namespace, in which
// the command is PID 1 and sees only its own descendants.
//
// Requires: nothing, but /proc is what ps reads: with the mnt plugin on, a
// fresh /proc is mounted inside the new mount namespace (mount phase) so
// ps and ls /proc show only the container. Without mnt the host's /proc
// stays, and with it the host's processes: the plugin runs, with a warning
// (the talk's "ps still shows the parent process"). When a plugin that
// switches the root is enabled (chroot), /proc is that plugin's to mount
// inside the new root.
//
// Option init (default false): by default the command is PID 1, as in the
// talk. The kernel then delivers to it only the signals it handles: a
// `sleep` ignores Ctrl-C and SIGTERM. With init=true crun's init stays as
// PID 1, runs the command as its child, forwards signals and reaps orphans
// (what docker run --init does).
package pid

import (
	"context"
	"strconv"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// rootSwitchers mount their own /proc inside the new root.
var rootSwitchers = []string{"chroot"}

// Plugin is the pid plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "pid",
		Version: Version,
		Summary: "new PID namespace: the command is PID 1; with mnt, a fresh /proc shows only the container",
		After:   []string{"mnt"},
		Options: []spec.Option{
			{Name: "init", Type: spec.TypeBool, Default: "false",
				Help: "keep crun's init as PID 1 to forward signals and reap orphans (the command is then not PID 1)"},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	c := spec.Contribution{Namespaces: []spec.Namespace{spec.NamespacePID}}
	if init, err := strconv.ParseBool(req.Options["init"]); err == nil && init {
		c.ReapingInit = true
	}
	switch {
	case enabled(req.Plugins, rootSwitchers...):
		// The root switch mounts /proc in the new root.
	case enabled(req.Plugins, "mnt"):
		c.Steps = append(c.Steps, spec.Step{
			Phase:    spec.PhaseMount,
			Requires: []spec.Namespace{spec.NamespacePID, spec.NamespaceMount},
			Mount: &spec.Mount{Source: "proc", Target: "/proc", FSType: "proc",
				Flags: []string{"nosuid", "nodev", "noexec"}},
			Why: "a /proc of the new PID namespace, so ps shows only the container; " +
				"mounted by crun's init, which is inside that namespace, and hidden from the host by mnt",
		})
	default:
		c.Warnings = append(c.Warnings, "without the mnt plugin /proc is still the host's: "+
			"ps and ls /proc show the host's processes; add mnt for a /proc of the container's own")
	}
	return c, nil
}

func enabled(plugins []string, names ...string) bool {
	for _, p := range plugins {
		for _, n := range names {
			if p == n {
				return true
			}
		}
	}
	return false
}
