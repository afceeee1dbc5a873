package core

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
)

// A preset is a name in --plugins that stands for several plugins: what
// a container engine gives a container by default, for instance. crun
// plan shows what it expanded to (the plan lists the plugins).
type Preset struct {
	Name string
	// Summary says what it stands for, as crun plugins shows it.
	Summary string
	// expand returns its plugins for a request, and what the user should
	// know about the choice.
	expand func(req Request, who caller) (plugins, warnings []string)
}

// caller is what presets adapt to about who runs crun.
type caller struct {
	root bool
	// cgroupWritable: a cgroup of the cgroup plugin's could be made (root,
	// or a cgroup v2 delegated to the user).
	cgroupWritable bool
}

// Presets are crun's presets.
var Presets = []Preset{{
	Name: "default",
	Summary: "what container engines give a container: uts, pid, mnt, cgroup, caps, nnp, seccomp, mask, " +
		"and chroot when --rootfs is given; for an ordinary user also user, and cgroup only where a cgroup is delegated to it",
	expand: func(req Request, who caller) ([]string, []string) {
		plugins := []string{"uts", "pid", "mnt", "cgroup", "caps", "nnp", "seccomp", "mask"}
		var warnings []string
		if !who.root {
			// Namespaces need a user namespace first; cgroups need root
			// or delegation.
			plugins = append([]string{"user"}, plugins...)
			if !who.cgroupWritable {
				plugins = slices.DeleteFunc(plugins, func(p string) bool { return p == "cgroup" })
				warnings = append(warnings, fmt.Sprintf("no cgroup: crun runs as uid %d, and cgroups are root's unless one "+
					"is delegated to you (cgroup v2, systemd's Delegate=yes): the container's processes and memory are not limited; "+
					"with a delegated cgroup, add cgroup to --plugins and -o cgroup.parent=PATH", os.Geteuid()))
			}
		}
		if optionGiven(req, "chroot", "rootfs") {
			plugins = append(plugins, "chroot")
		}
		return plugins, warnings
	},
}}

// expandPresets returns the request's plugins with each preset replaced
// by its plugins, in place (a plugin already listed is not listed
// again), and the presets' warnings.
func expandPresets(req Request, who caller) (plugins []string, warnings []plan.Warning) {
	var fromPresets []string
	for _, name := range req.Plugins {
		i := slices.IndexFunc(Presets, func(p Preset) bool { return p.Name == name })
		if i < 0 {
			// A plugin named twice by the user stays twice: crun says so.
			if !slices.Contains(fromPresets, name) {
				plugins = append(plugins, name)
			}
			continue
		}
		expanded, notes := Presets[i].expand(req, who)
		for _, n := range notes {
			warnings = append(warnings, plan.Warning{Plugin: Presets[i].Name, Message: n})
		}
		for _, n := range expanded {
			if !slices.Contains(plugins, n) {
				plugins = append(plugins, n)
				fromPresets = append(fromPresets, n)
			}
		}
	}
	return plugins, warnings
}

// ExpandPlugins returns the plugins a request enables, its presets
// expanded, in the order it names them.
func ExpandPlugins(req Request) []string {
	plugins, _ := expandPresets(req, whoCalls(req))
	return plugins
}

// whoCalls finds out what presets adapt to, when a request names one.
func whoCalls(req Request) caller {
	if os.Geteuid() == 0 {
		return caller{root: true, cgroupWritable: true}
	}
	if !slices.ContainsFunc(req.Plugins, func(name string) bool {
		return slices.ContainsFunc(Presets, func(p Preset) bool { return p.Name == name })
	}) {
		return caller{}
	}
	return caller{cgroupWritable: cgroupWritable(req)}
}

// cgroupWritable tells whether an ordinary user may make the cgroup
// plugin's cgroups: its parent, cgroup.parent under cgroup.root
// (/sys/fs/cgroup/crun by default), must be a cgroup v2 the user can
// write. (cgroup v1 is never delegated.)
func cgroupWritable(req Request) bool {
	root, parent := "/sys/fs/cgroup", "crun"
	for _, o := range req.Options {
		if o.Plugin == "cgroup" && strings.EqualFold(o.Key, "root") {
			root = o.Value
		}
		if o.Plugin == "cgroup" && strings.EqualFold(o.Key, "parent") {
			parent = o.Value
		}
	}
	var st unix.Statfs_t
	if unix.Statfs(root, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return false
	}
	return unix.Access(filepath.Join(root, parent), unix.W_OK) == nil
}

func optionGiven(req Request, plugin, key string) bool {
	return slices.ContainsFunc(req.Options, func(o Option) bool {
		return o.Plugin == plugin && strings.EqualFold(o.Key, key) && o.Value != ""
	})
}
