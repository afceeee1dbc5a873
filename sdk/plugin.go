// Package sdk is what a crun plugin is written against: the Plugin
// interface, Serve (a plugin's whole main) and Logger. The data of the
// contract lives in sdk/spec, the test harness in sdk/sdktest.
//
// A plugin is a planner: it never touches the container. crun asks it to
// Describe itself and to Contribute its part of a plan (namespaces, steps
// for crun's init, host steps), and crun does the work. A plugin that must
// act with real code on the host while the container waits (configuring a
// network namespace, say) also implements Hooker and lists the points in
// Description.Hooks.
//
//	func main() { sdk.Serve(myplugin.New()) }
package sdk

import (
	"context"

	"github.com/crun-project/crun/sdk/spec"
)

// Plugin is the interface every crun plugin implements.
type Plugin interface {
	// Describe says who the plugin is, which options it accepts and how
	// it is ordered. crun may call it before every run; it must not
	// depend on anything but the plugin itself.
	Describe(ctx context.Context) (spec.Description, error)
	// Contribute returns the plugin's part of the plan for one run. It
	// must not change the host: host changes are host steps or hooks.
	Contribute(ctx context.Context, req spec.ContributeRequest) (spec.Contribution, error)
}

// Hooker is implemented by plugins with live host hooks.
type Hooker interface {
	// Hook runs on the host at req.Point, with the container's pid.
	Hook(ctx context.Context, req spec.HookRequest) error
}
