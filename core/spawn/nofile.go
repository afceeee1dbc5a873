package spawn

import "golang.org/x/sys/unix"

// originalNofile is the soft RLIMIT_NOFILE crun started with, when the Go
// runtime raised it (it raises it for itself at start-up, and restores it
// in the children that os/exec starts).
func originalNofile() (unix.Rlimit, bool) { return unix.Rlimit{}, false }
