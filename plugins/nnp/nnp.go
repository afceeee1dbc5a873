// Package nnp is the built-in nnp plugin: the container's processes run
// with no_new_privs, so that no execve gives them privileges they did
// not have: set-user-ID and set-group-ID files run as their caller, file
// capabilities are not granted.
//
// Without it, a set-user-ID root program in the rootfs (or one a process
// in the container makes, if it may) runs as root. Steps: one
// no_new_privs step, first in the restrict phase (a seccomp filter loaded
// after it needs no privilege to load).
package nnp

import (
	"context"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Plugin is the nnp plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "nnp",
		Version: Version,
		Summary: "no_new_privs: exec never grants privileges (set-user-ID files, file capabilities)",
		Before:  []string{"seccomp", "runas", "caps"},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(context.Context, spec.ContributeRequest) (spec.Contribution, error) {
	return spec.Contribution{Steps: []spec.Step{{
		Phase:      spec.PhaseRestrict,
		NoNewPrivs: &spec.NoNewPrivs{},
		Why:        "a set-user-ID program, or one with file capabilities, runs without gaining them",
	}}}, nil
}
