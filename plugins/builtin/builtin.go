// Package builtin lists crun's built-in plugins, which the crun binary
// serves from one process (crun re-executed in plugin-server mode).
package builtin

import (
	"github.com/crun-project/crun/plugins/cgroup"
	"github.com/crun-project/crun/plugins/chroot"
	"github.com/crun-project/crun/plugins/mnt"
	"github.com/crun-project/crun/plugins/pid"
	"github.com/crun-project/crun/plugins/uts"
	"github.com/crun-project/crun/sdk"
)

// Plugins returns every built-in plugin.
func Plugins() []sdk.Plugin {
	return []sdk.Plugin{uts.Plugin{}, pid.Plugin{}, mnt.Plugin{}, chroot.Plugin{}, cgroup.Plugin{}}
}

// Names lists the built-in plugins' names, in the order crun plugins
// shows them.
var Names = []string{"uts", "pid", "mnt", "chroot", "cgroup"}
