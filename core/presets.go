package core

import (
	"slices"
	"strings"
)

// A preset is a name in --plugins that stands for several plugins: what
// a container engine gives a container by default, for instance. crun
// plan shows what it expanded to (the plan lists the plugins).
type Preset struct {
	Name string
	// Summary says what it stands for, as crun plugins shows it.
	Summary string
	// plugins returns its plugins for a request.
	plugins func(req Request) []string
}

// Presets are crun's presets.
var Presets = []Preset{{
	Name: "default",
	Summary: "what container engines give a container: uts, pid, mnt, cgroup, caps, nnp, seccomp, mask, " +
		"and chroot when --rootfs is given",
	plugins: func(req Request) []string {
		plugins := []string{"uts", "pid", "mnt", "cgroup", "caps", "nnp", "seccomp", "mask"}
		if optionGiven(req, "chroot", "rootfs") {
			plugins = append(plugins, "chroot")
		}
		return plugins
	},
}}

// expandPresets returns the request's plugins with each preset replaced
// by its plugins, in place; a plugin already listed is not listed again.
func expandPresets(req Request) []string {
	var out, fromPresets []string
	for _, name := range req.Plugins {
		i := slices.IndexFunc(Presets, func(p Preset) bool { return p.Name == name })
		if i < 0 {
			// A plugin named twice by the user stays twice: crun says so.
			if !slices.Contains(fromPresets, name) {
				out = append(out, name)
			}
			continue
		}
		for _, n := range Presets[i].plugins(req) {
			if !slices.Contains(out, n) {
				out = append(out, n)
				fromPresets = append(fromPresets, n)
			}
		}
	}
	return out
}

func optionGiven(req Request, plugin, key string) bool {
	return slices.ContainsFunc(req.Options, func(o Option) bool {
		return o.Plugin == plugin && strings.EqualFold(o.Key, key) && o.Value != ""
	})
}
