package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Workdir is the workdir plugin, and the template for writing your own:
// copy this directory, rename the type, and keep the shape.
//
// What it isolates: nothing. It makes the command start in a directory of
// the user's choice, -o workdir.path=DIR (what docker run --workdir does),
// which is useful with the chroot plugin and small enough that what is
// left is the shape every plugin shares.
//
// What it requires: nothing. A working directory belongs to the process
// alone, so it asks for no namespace and works with or without any other
// plugin. With chroot, DIR is a path inside the container's root.
//
// When its steps run: one chdir in the configure phase. Phases run after
// one another whatever the plugin order, and configure comes after the
// root switch (the root phase), so DIR is looked up in the container's
// root, not the host's; a chdir before the switch would be undone by it.
//
// A plugin is a planner: Describe and Contribute compute values, and
// crun's init does the work. Neither may change the host, because crun
// also calls them for crun plan, which must change nothing.
type Workdir struct{}

// version is shown by crun plugins and crun plan, so a user can tell which
// build of the plugin made a plan: bump it when the behaviour changes.
const version = "0.1.0"

// defaultPath is where a root switch leaves the command anyway, so the
// plugin enabled without options changes nothing surprising.
const defaultPath = "/"

// Describe says who the plugin is. crun calls it before every run, and for
// crun plugins; it must not depend on anything but the plugin itself.
func (Workdir) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		// The name users type in --plugins. It must match NAME in the
		// executable's name, crun-plugin-NAME, or crun refuses the plugin.
		Name:    "workdir",
		Version: version,
		// One line for crun plugins: what the plugin does for the user.
		Summary: "the command starts in a directory of your choice (-o workdir.path=DIR)",
		// Every option the plugin accepts. crun checks the type and
		// refuses unknown keys before calling Contribute, and fills in the
		// default when the user gives none.
		Options: []spec.Option{{
			Name:    "path",
			Type:    spec.TypeString,
			Default: defaultPath,
			Help:    "the directory the command starts in, in the container (with chroot: inside its root)",
		}},
		// Phases already put the chdir after any root switch. After orders
		// plugins within a phase, and is ignored for a plugin that is not
		// enabled; naming chroot here also tells readers of crun plugins
		// that the path is meant inside chroot's root.
		After: []string{"chroot"},
	}, nil
}

// Contribute returns the plugin's part of one run's plan, computed from
// the request alone. An error refuses the run before anything happens,
// and crun shows it to the user prefixed with the plugin's name: say what
// is wrong and how to fix it.
func (Workdir) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	dir, warnings, err := parsePath(req.Options["path"])
	if err != nil {
		return spec.Contribution{
			// The answer is a function of the request alone: crun may reuse
			// it (a plugin that read host state would list it in DependsOn).
			Cacheable: true}, err
	}
	return spec.Contribution{
		// A plugin that isolates something asks for its namespace here,
		// e.g. []spec.Namespace{spec.NamespaceIPC} (plugin-examples/ipc
		// and plugin-examples/net do). crun clones the container into the
		// union of what the enabled plugins ask for. A working directory
		// needs no namespace, so workdir asks for none.
		Namespaces: nil,
		Steps: []spec.Step{{
			Phase: spec.PhaseConfigure,
			Chdir: &spec.Chdir{Path: dir},
			// crun plan shows Why next to the step: write it for the user
			// who wonders why the step is there.
			Why: "after any root switch, so that " + dir + " is looked up in the container's root",
		}},
		// Programs that read $PWD rather than call getcwd expect it to
		// match; the user's own --env PWD=... still wins over this.
		Env: []string{"PWD=" + dir},
		// Warnings are for legal but surprising requests: crun prints
		// them before the run, and crun plan lists them.
		Warnings: warnings,
	}, nil
}

// parsePath checks the path option. crun has only checked that it is a
// string: what makes a good path is the plugin's to decide.
func parsePath(p string) (dir string, warnings []string, err error) {
	switch {
	case p == "":
		return "", nil, fmt.Errorf("option path is empty: give the directory the command starts in, e.g. -o workdir.path=/tmp")
	case strings.ContainsRune(p, 0):
		return "", nil, fmt.Errorf("option path %q: contains a NUL byte, which no path can", p)
	}
	if !path.IsAbs(p) {
		// A relative path could mean "relative to where crun runs" as
		// well as "relative to the container's root": run, but say which.
		dir = path.Join("/", p)
		warnings = append(warnings, fmt.Sprintf("path %q is relative: the command starts in %s, "+
			"taken from the container's root, not from where crun runs", p, dir))
		return dir, warnings, nil
	}
	return path.Clean(p), nil, nil
}
