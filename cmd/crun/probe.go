package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/core/probe"
	"github.com/crun-project/crun/core/sealed"
)

// probeVerb is the verb crun's probe runs under inside the container.
// It is not for users: it prints what the process sees as JSON, then
// waits for its standard input to close.
const probeVerb = "__probe"

// cmdProbe runs crun's probe in a container made as crun run would make
// it, and in crun itself on the host, and shows the two side by side.
func cmdProbe(o *options, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "crun: probe runs crun's own probe and takes no command (got %q): crun [flags] probe\n", args)
		return core.ExitCrunFailed
	}
	req, e, cleanup, ok := prepare("probe", o, []string{"crun", probeVerb}, stderr)
	if !ok {
		return core.ExitCrunFailed
	}
	defer cleanup()
	// The probe is crun's binary, executed by fd from a view of it that
	// nobody can write to: the container can neither replace nor change it.
	bin, err := sealed.Open()
	if err != nil {
		fmt.Fprintf(stderr, "crun: probe: open crun's own binary: %v\n", err)
		return core.ExitCrunFailed
	}
	defer bin.Close()
	req.Exec = bin
	host := probe.Collect()

	inR, inW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "crun: probe: %v\n", err)
		return core.ExitCrunFailed
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "crun: probe: %v\n", err)
		return core.ExitCrunFailed
	}
	type ended struct {
		code int
		err  error
	}
	done := make(chan ended, 1)
	go func() {
		code, err := e.Run(context.Background(), req, core.Stdio{In: inR, Out: outW, Err: stderr}, stderr)
		outW.Close()
		done <- ended{code, err}
	}()
	// The probe's report, then the container's cgroup limits, read while
	// it still runs (it waits for its stdin to close).
	line, readErr := bufio.NewReader(outR).ReadBytes('\n')
	var ctr probe.Facts
	if readErr == nil {
		readErr = json.Unmarshal(line, &ctr)
	}
	ctrLimits := probe.Limits("/sys/fs/cgroup", ctr)
	inW.Close()
	end := <-done
	inR.Close()
	outR.Close()
	switch {
	case end.err != nil:
		fmt.Fprintf(stderr, "crun: probe: %v\n", end.err)
		return end.code
	case readErr != nil || end.code != 0:
		fmt.Fprintf(stderr, "crun: probe: the probe in the container did not report (exit %d): %v\n", end.code, readErr)
		return core.ExitCrunFailed
	}
	rows := probe.Compare(host, ctr, probe.Limits("/sys/fs/cgroup", host), ctrLimits)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rows)
		return 0
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "WHAT\tHOST\tCONTAINER\tVERDICT\tPLUGIN")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.What, r.Host, r.Container, r.Verdict, r.Plugin)
	}
	w.Flush()
	return 0
}

// probeInside is the probe's side in the container: what it sees, as
// one line of JSON, then a wait until crun closes its standard input.
func probeInside(stdin io.Reader, stdout io.Writer) int {
	// Executed by fd, it would be named after the fd's number. (Raw
	// system calls: no fd of the runtime's may open before the probe
	// lists the fds it was given.)
	if fd, err := unix.Open("/proc/self/comm", unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
		unix.Write(fd, []byte("crun-probe"))
		unix.Close(fd)
	}
	if err := json.NewEncoder(stdout).Encode(probe.Collect()); err != nil {
		return 1
	}
	io.Copy(io.Discard, stdin)
	return 0
}
