// Package mnt is the built-in mnt plugin: a new mount namespace, so the
// container's mounts are its own.
//
// Requires: nothing. Steps: first of all (prepare phase), the whole mount
// tree is made private, recursively. A new mount namespace starts as a copy
// of the host's, and where the host's mounts are shared (systemd makes /
// shared), mounts made in the copy would propagate back to the host.
//
// -o mnt.propagation=slave|shared switches that protection off, for a
// lesson: slave lets the host's new mounts in but none out; shared leaves
// mounts propagating both ways wherever the host's are shared (pivot_root
// refuses a shared root: use it without a rootfs, or with
// chroot.method=chroot). The plan then carries a warning.
package mnt

import (
	"context"
	"fmt"

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
		Options: []spec.Option{{Name: "propagation", Type: spec.TypeString, Default: "private",
			Help: "private (mounts stay inside), slave (the host's come in, none go out) or shared (both ways where the host's are shared: the protection off, for a lesson)"}},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	c := spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceMount}}
	why := "make / private recursively, so mounts below do not propagate to the host"
	switch p := req.Options["propagation"]; p {
	case "", "private":
	case "slave":
		why = "make / a slave recursively: the host's new mounts propagate in, the container's do not propagate out"
		c.Warnings = append(c.Warnings, "mnt.propagation=slave: the host's mounts made while the container runs appear in it")
	case "shared":
		why = "make / shared recursively: where the host's mounts are shared, mounts propagate both ways"
		c.Warnings = append(c.Warnings, "mnt.propagation=shared: a protection is off: where the host's mounts are shared, "+
			"the container's mounts appear on the host, and crun does not undo them")
	default:
		return c, fmt.Errorf("propagation %q: want private, slave or shared", p)
	}
	propagation := req.Options["propagation"]
	if propagation == "" {
		propagation = "private"
	}
	c.Steps = []spec.Step{{
		Phase:    spec.PhasePrepare,
		Requires: []spec.Namespace{spec.NamespaceMount},
		Mount:    &spec.Mount{Target: "/", Flags: []string{"rec", propagation}},
		Why:      why,
	}}
	return c, nil
}
