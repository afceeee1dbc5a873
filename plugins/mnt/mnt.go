// Package mnt is the built-in mnt plugin: a new mount namespace, so the
// container's mounts are its own.
//
// Requires: nothing. Steps: first of all (prepare phase), the whole mount
// tree is made private, recursively. A new mount namespace starts as a copy
// of the host's, and where the host's mounts are shared (systemd makes /
// shared), mounts made in the copy would propagate back to the host.
package mnt

import (
	"context"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Plugin is the mnt plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "mnt",
		Version: Version,
		Summary: "new mount namespace, made private: mounts inside stay inside",
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(context.Context, spec.ContributeRequest) (spec.Contribution, error) {
	return spec.Contribution{
		Namespaces: []spec.Namespace{spec.NamespaceMount},
		Steps: []spec.Step{{
			Phase:    spec.PhasePrepare,
			Requires: []spec.Namespace{spec.NamespaceMount},
			Mount:    &spec.Mount{Target: "/", Flags: []string{"rec", "private"}},
			Why:      "make / private recursively, so mounts below do not propagate to the host",
		}},
	}, nil
}
