// Package uts is the built-in uts plugin: a new UTS namespace, so the
// container has a hostname of its own.
//
// Requires: nothing. Steps: sethostname in the configure phase, inside the
// new namespace (the talk's lesson: setting it before the clone would
// rename the host). Option: hostname (default "container").
package uts

import (
	"context"
	"fmt"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Plugin is the uts plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "uts",
		Version: Version,
		Summary: "new UTS namespace: the container gets its own hostname",
		Options: []spec.Option{
			{Name: "hostname", Type: spec.TypeString, Default: "container",
				Help: "the container's hostname (also --hostname)", Public: true},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	name := req.Options["hostname"]
	if err := checkHostname(name); err != nil {
		return spec.Contribution{}, err
	}
	return spec.Contribution{
		Namespaces: []spec.Namespace{spec.NamespaceUTS},
		Steps: []spec.Step{{
			Phase:       spec.PhaseConfigure,
			Sethostname: &spec.Sethostname{Hostname: name},
			Why:         "in the new UTS namespace, so the host's name does not change",
		}},
		Env: []string{"HOSTNAME=" + name},
	}, nil
}

// checkHostname accepts what a host name may hold (RFC 1123's letters,
// digits, '-' and '.', and '_', which many use): the kernel would take
// any 64 bytes, but a newline or a space in a hostname breaks the files
// and prompts it ends up in.
func checkHostname(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("hostname %q: must be 1 to 64 bytes", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return fmt.Errorf("hostname %q: %q is not allowed: use letters, digits, '-', '.' and '_'", name, r)
		}
	}
	return nil
}
