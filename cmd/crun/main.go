// Command crun runs a command in an isolated environment in which every
// isolation feature is a plugin:
//
//	crun --plugins uts,pid,mnt run sh
//
// The same binary is also the server of the built-in plugins (crun
// plugin-server, started by crun itself).
// crun's processes live a few milliseconds: reading the cgroup's CPU
// limit at start (and watching it) to size GOMAXPROCS costs more than it
// could save.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/crun-project/crun/core"
)

func main() {
	// First: a run's signals end it with 128+N, cleaned up (Main gives
	// them back to the other commands).
	core.CatchSignalsEarly()
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
