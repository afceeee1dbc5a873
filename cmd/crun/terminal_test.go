package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal's master and slave ends.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// onTerminal is crun started on a new terminal, as a shell starts a
// command: crun is the foreground process group of its session.
type onTerminal struct {
	cmd    *exec.Cmd
	master *os.File
	out    chan string
	seen   strings.Builder
}

func startOnTerminal(t *testing.T, args ...string) *onTerminal {
	t.Helper()
	master, slave := openPty(t)
	cmd := crunCmd(context.Background(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only crun holds the terminal now: the master reads EOF (EIO) when
	// crun and the container are done with it.
	slave.Close()
	o := &onTerminal{cmd: cmd, master: master, out: make(chan string, 100)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				o.out <- string(buf[:n])
			}
			if err != nil {
				close(o.out)
				return
			}
		}
	}()
	return o
}

// waitFor reads the terminal until it shows s.
func (o *onTerminal) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(o.seen.String(), s) {
		select {
		case chunk, ok := <-o.out:
			if !ok {
				t.Fatalf("the terminal closed before %q: %q", s, o.seen.String())
			}
			o.seen.WriteString(chunk)
		case <-deadline:
			t.Fatalf("no %q on the terminal: %q", s, o.seen.String())
		}
	}
}

// wait waits for crun and returns its exit code and all it printed.
func (o *onTerminal) wait(t *testing.T) (int, string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- o.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		o.cmd.Process.Kill()
		t.Fatalf("crun did not end: %q", o.seen.String())
	}
	for chunk := range o.out {
		o.seen.WriteString(chunk)
	}
	return o.cmd.ProcessState.ExitCode(), o.seen.String()
}

// TestContainerOwnsTheTerminal: on a terminal, the container's process
// group is the terminal's foreground group (a shell inside can then do
// job control and exit cleanly), and Ctrl-C reaches the command, not
// crun, which reports the command's death by SIGINT.
func TestContainerOwnsTheTerminal(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	// Fields 5 and 8 of /proc/PID/stat: process group, and the
	// terminal's foreground group.
	o := startOnTerminal(t, "--plugins", "uts,pid,mnt", "--hostname", uniqueHost(t), "run", "sh", "-c",
		// The sleep's process exists, in the foreground group, before
		// "ready" shows; the shell (PID 1, which ignores SIGINT) exits
		// with its status.
		`set -- $(cat /proc/$$/stat); echo "pgrp=$5 tpgid=$8"; sh -c "echo ready; exec sleep 30"; exit $?`)
	o.waitFor(t, "ready")
	if !strings.Contains(o.seen.String(), "pgrp=1 tpgid=1") {
		t.Errorf("the container is not the terminal's foreground group: %q", o.seen.String())
	}
	o.master.Write([]byte{3}) // Ctrl-C
	code, text := o.wait(t)
	if code != 130 {
		t.Errorf("Ctrl-C: exit %d, output %q", code, text)
	}
	assertNothingLeft(t, before)
}

// TestCtrlCWhilePlanningReachesCrun: Ctrl-C typed while crun plans (here
// a plugin that takes its time) is crun's, which then starts nothing and
// cleans up.
func TestCtrlCWhilePlanningReachesCrun(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	wait := filepath.Join(t.TempDir(), "wait")
	os.WriteFile(wait, nil, 0o600) // the plugin waits while it exists
	t.Cleanup(func() { os.Remove(wait) })
	o := startOnTerminal(t, "--plugin-path", pluginDir, "--plugins", "uts,pid,mnt,slow", "-o", "slow.wait="+wait,
		"--hostname", uniqueHost(t), "run", "true")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(wait + ".waiting"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow plugin never started waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.master.Write([]byte{3}) // Ctrl-C
	time.Sleep(100 * time.Millisecond)
	os.Remove(wait) // let the plugin answer
	code, text := o.wait(t)
	if code != 130 || !strings.Contains(text, "interrupted by SIGINT before the container started") {
		t.Errorf("Ctrl-C while planning: exit %d, output %q", code, text)
	}
	assertNothingLeft(t, before)
}

// TestCtrlCWhileAStepHangs: the terminal is the container's only once
// its steps are done, so a Ctrl-C typed while a step hangs (it reads a
// FIFO nobody writes to) is crun's, which gives up on the setup after
// --stop-timeout and cleans up.
func TestCtrlCWhileAStepHangs(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	o := startOnTerminal(t, "--plugin-path", pluginDir, "--plugins", "uts,pid,mnt,stuck", "-o", "stuck.fifo="+fifo,
		"--stop-timeout", "1s", "--hostname", uniqueHost(t), "run", "true")
	time.Sleep(500 * time.Millisecond) // the step is waiting for a writer
	o.master.Write([]byte{3})          // Ctrl-C
	code, text := o.wait(t)
	if code != 130 || !strings.Contains(text, "interrupted by SIGINT during setup") {
		t.Errorf("Ctrl-C while a step hangs: exit %d, output %q", code, text)
	}
	assertNothingLeft(t, before)
}
