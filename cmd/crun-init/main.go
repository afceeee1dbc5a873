// Command crun-init is crun's init, on its own: the process crun clones
// into the new namespaces, which performs the plan's child steps and
// executes the command. It is the same code as `crun` started as
// crun-init (core/child), in a binary that does not link crun's RPC
// machinery (gRPC, protobuf, go-plugin), whose package initialisation
// would cost every container a few milliseconds before its first step.
// crun uses it when it is installed beside crun; otherwise crun runs
// itself as the init.
// crun's processes live a few milliseconds: reading the cgroup's CPU
// limit at start (and watching it) to size GOMAXPROCS costs more than it
// could save.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/crun-project/crun/core/child"
)

func main() {
	os.Exit(child.Main())
}
