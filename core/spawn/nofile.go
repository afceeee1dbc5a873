package spawn

import "golang.org/x/sys/unix"

// defaultNofile is the soft RLIMIT_NOFILE a container starts with when
// crun cannot tell the one it started with: Linux's default, which
// systemd keeps too, and the largest that programs using select(2)
// handle (FD_SETSIZE).
const defaultNofile = 1024

// containerNofile returns the limit on open files the container starts
// with, and whether the child must set it (it is not crun's own now).
//
// Package syscall raises crun's soft limit when it is initialised, for
// Go's own sake, to one below the hard limit, and keeps the value it
// found to itself (os/exec's children get it back; a child forked
// otherwise cannot). So when crun's soft limit is now the hard limit less
// one, Go raised it, and the container gets Linux's default soft limit,
// capped by the hard one. Otherwise Go left the limit alone, and the
// container gets crun's, as it is. A plan's own setting of the limit
// comes after this (the child sets this before the steps).
func containerNofile() (unix.Rlimit, bool) {
	var now unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &now); err != nil || now.Max == 0 || now.Cur != now.Max-1 {
		return now, false
	}
	return unix.Rlimit{Cur: min(defaultNofile, now.Max), Max: now.Max}, true
}
