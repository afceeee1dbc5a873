package core

import (
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// foregroundTerminal reports whether the container's stdin is the
// terminal crun runs in the foreground of, and its fd.
//
// If so, crun hands the terminal to the container like a shell hands it
// to a job: the child gets a process group of its own and becomes the
// terminal's foreground group. Ctrl-C then reaches the container and not
// crun, and an interactive shell inside finds its own group in the
// foreground; otherwise it would try, on exit, to give the terminal back
// to crun's group, which does not exist in its PID namespace, and fail
// ("Cannot set tty process group") with a wrong exit status.
func foregroundTerminal(in io.Reader) (int, bool) {
	f, ok := in.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return 0, false // not a terminal
	}
	return fd, fg == unix.Getpgrp()
}

// reclaimTerminal makes crun's process group the terminal's foreground
// group again after the container is done with it.
func reclaimTerminal(fd int) {
	// A process not in the foreground gets SIGTTOU for tcsetpgrp; it
	// would stop crun. Ignored for that call only: a later container
	// must not inherit it ignored.
	signal.Ignore(unix.SIGTTOU)
	defer signal.Reset(unix.SIGTTOU)
	_ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp())
}
