package oci

import (
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/crun-project/crun/sdk/spec"
)

// Features is what crun accepts in config.json, in runtime-spec's
// features.md form (crun features): read off the tables Compile uses, so
// that it cannot claim what Compile refuses. A list it leaves out is
// "unknown" in features.md's terms (the hooks: crun runs none yet, and
// the form cannot say "none").
func Features() features.Features {
	var namespaces []string
	for ns := range namespacePlugins {
		namespaces = append(namespaces, string(ns))
	}
	slices.Sort(namespaces)
	var options []string
	for _, list := range [][]string{bindOptions, tmpfsFlags} {
		for _, o := range list {
			if !slices.Contains(options, o) {
				options = append(options, o)
			}
		}
	}
	for _, m := range chrootMounts {
		for _, o := range m.options {
			if !slices.Contains(options, o) && !strings.Contains(o, "=") /* tmpfs data, not a flag */ {
				options = append(options, o)
			}
		}
	}
	slices.Sort(options)
	no := false
	return features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		MountOptions:  options,
		Linux: &features.Linux{
			Namespaces:   namespaces,
			Capabilities: spec.CapabilityNames(),
			Seccomp:      &features.Seccomp{Enabled: &no},
		},
		Annotations: map[string]string{
			"io.github.crun-project.crun.plugins": "annotation crun.plugins adds plugins, crun.opt.PLUGIN.KEY their options",
		},
	}
}
