package core

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// Monotonic is CLOCK_MONOTONIC in nanoseconds: one clock for crun and the
// child it forks, which are different processes.
func Monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// Tracef prints one --trace line, ending with the time since start (a
// Monotonic reading: when crun started).
func Tracef(w io.Writer, start int64, format string, args ...any) {
	TraceAt(w, start, Monotonic(), format, args...)
}

// TraceAt prints one --trace line about something that happened at at (a
// Monotonic reading), ending with its time since start.
func TraceAt(w io.Writer, start, at int64, format string, args ...any) {
	since := time.Duration(at - start)
	fmt.Fprintf(w, "crun: trace: "+format+" @%.2fms\n", append(args, float64(since)/float64(time.Millisecond))...)
}
