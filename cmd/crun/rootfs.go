package main

import (
	"fmt"
	"io"

	"github.com/crun-project/crun/core"
)

func cmdRootfs(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "crun: rootfs: not yet\n")
	return core.ExitCrunFailed
}
