// Package builtin lists crun's built-in plugins. crun's plugin host
// (crun-plugins) serves them in-process; crun itself only needs their
// names, and this package links nothing of the RPC machinery, so that
// crun does not either.
package builtin

import (
	"context"

	"github.com/crun-project/crun/plugins/caps"
	"github.com/crun-project/crun/plugins/cgroup"
	"github.com/crun-project/crun/plugins/chroot"
	"github.com/crun-project/crun/plugins/mask"
	"github.com/crun-project/crun/plugins/mnt"
	"github.com/crun-project/crun/plugins/nnp"
	"github.com/crun-project/crun/plugins/pid"
	"github.com/crun-project/crun/plugins/runas"
	"github.com/crun-project/crun/plugins/seccomp"
	"github.com/crun-project/crun/plugins/user"
	"github.com/crun-project/crun/plugins/uts"
	"github.com/crun-project/crun/sdk/spec"
)

// Plugin is sdk.Plugin, restated so that this package need not import
// sdk (which links gRPC).
type Plugin interface {
	Describe(ctx context.Context) (spec.Description, error)
	Contribute(ctx context.Context, req spec.ContributeRequest) (spec.Contribution, error)
}

// Plugins returns every built-in plugin, in the order crun plugins shows
// them.
func Plugins() []Plugin {
	plugins := []Plugin{uts.Plugin{}, pid.Plugin{}, mnt.Plugin{}, chroot.Plugin{}, cgroup.Plugin{},
		user.Plugin{}, runas.Plugin{}, caps.Plugin{}, nnp.Plugin{}, seccomp.Plugin{}, mask.Plugin{}}
	for i, p := range plugins {
		plugins[i] = cacheable{p}
	}
	return plugins
}

// cacheable says, for every built-in, that its contribution may be
// cached (spec.Contribution.Cacheable): each is a function of its request
// and of the host paths it lists in DependsOn (the cgroup plugin's
// controllers, the chroot plugin's rootfs), which each plugin's
// conformance test checks for two container ids.
type cacheable struct{ Plugin }

func (c cacheable) Contribute(ctx context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	contribution, err := c.Plugin.Contribute(ctx, req)
	contribution.Cacheable = err == nil
	return contribution, err
}

// OptionDefault is the default value of a built-in plugin's option, as
// its description gives it ("" when there is no such option): for help
// texts that name it without importing the plugin.
func OptionDefault(plugin, option string) string {
	for _, p := range Plugins() {
		d, _ := p.Describe(context.Background())
		if d.Name != plugin {
			continue
		}
		for _, o := range d.Options {
			if o.Name == option {
				return o.Default
			}
		}
	}
	return ""
}

// Names lists the built-in plugins' names, in the same order.
func Names() []string {
	var names []string
	for _, p := range Plugins() {
		d, _ := p.Describe(context.Background())
		names = append(names, d.Name)
	}
	return names
}
