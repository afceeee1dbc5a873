package main

import (
	"fmt"
	"io"

	"github.com/crun-project/crun/core"
)

// cmdCleanup undoes what killed cruns left behind: mounts made without a
// mount namespace and host-side directories (cgroups), recorded in state
// files, plus plugin socket directories. Every run does the same first.
func cmdCleanup(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "crun: cleanup takes no arguments\n")
		return core.ExitCrunFailed
	}
	cleaned, err := core.CleanupStale()
	for _, id := range cleaned {
		fmt.Fprintf(stdout, "cleaned up after container %s\n", id)
	}
	if err != nil {
		fmt.Fprintf(stderr, "crun: cleanup: %v\n", err)
		return core.ExitCrunFailed
	}
	if len(cleaned) == 0 {
		fmt.Fprintf(stdout, "nothing to clean up\n")
	}
	return 0
}
