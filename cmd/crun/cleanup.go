package main

import (
	"fmt"
	"io"

	"github.com/crun-project/crun/core"
)

// cmdCleanup undoes what killed cruns left behind: mounts made without a
// mount namespace and host-side directories (cgroups), recorded in state
// files, plus plugin socket directories. Every run does the same first.
// A plugin's after-exit hook is called through the plugin, launched as a
// run would (--plugin-path, --plugin-sha256 and the plugins config file
// apply).
func cmdCleanup(o *options, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "crun: cleanup takes no arguments\n")
		return core.ExitCrunFailed
	}
	e, closeEngine, err := engine(o)
	if err != nil {
		fmt.Fprintf(stderr, "crun: cleanup: %v\n", err)
		return core.ExitCrunFailed
	}
	defer closeEngine()
	cleaned, err := core.CleanupStale(e.ReplayHook)
	for _, id := range cleaned.Containers {
		fmt.Fprintf(stdout, "cleaned up after container %s\n", id)
	}
	for _, w := range cleaned.Waiting {
		fmt.Fprintf(stdout, "left for later: %s (undone by the first cleanup after that container ends)\n", w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "crun: cleanup: %v\n", err)
		return core.ExitCrunFailed
	}
	if len(cleaned.Containers) == 0 && len(cleaned.Waiting) == 0 {
		fmt.Fprintf(stdout, "nothing to clean up\n")
	}
	return 0
}
