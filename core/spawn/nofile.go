package spawn

import (
	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/spawn/nofile"
)

// originalNofile is the RLIMIT_NOFILE crun started with, when the Go
// runtime has raised it since (it raises the soft limit for itself at
// start-up, and restores it in the children that os/exec starts): the
// child restores it before the exec, so that the container gets what
// crun got.
func originalNofile() (unix.Rlimit, bool) {
	soft, hard, ok := nofile.Original()
	if !ok {
		return unix.Rlimit{}, false
	}
	var now unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &now); err != nil || (now.Cur == soft && now.Max == hard) {
		return unix.Rlimit{}, false
	}
	return unix.Rlimit{Cur: soft, Max: hard}, true
}
