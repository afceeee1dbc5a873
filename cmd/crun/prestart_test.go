package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const prestarted = "crun init prestarted, from the hint of the last run of this command line"

// hintFiles lists the command-line hints in the plan cache.
func hintFiles() []string {
	files, _ := filepath.Glob("/run/crun-go/cache/hint-*")
	return files
}

// newHint runs args and returns the hint file that run left (written
// by it: the newest).
func newHint(t *testing.T, args ...string) string {
	t.Helper()
	if r := crun(t, args...); r.code != 0 {
		t.Fatalf("crun %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	newest, when := "", time.Time{}
	for _, f := range hintFiles() {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(when) {
			newest, when = f, fi.ModTime()
		}
	}
	if newest == "" || time.Since(when) > 5*time.Second {
		t.Fatalf("crun %v left no hint", args)
	}
	return newest
}

// TestPrestartFromHint: the second run of a command line starts crun's
// init before parsing it, and the container is the same.
func TestPrestartFromHint(t *testing.T) {
	requireRoot(t)
	host := uniqueHost(t)
	args := []string{"--trace", "--plugins", "uts,pid,mnt", "--hostname", host, "run", "sh", "-c", "hostname; echo $$"}
	hint := newHint(t, args...)
	if b, _ := os.ReadFile(hint); !strings.HasSuffix(string(b), "\ncrun-plan-cache 3 namespaces=mnt,uts,pid clone-into-cgroup=no\n") {
		t.Errorf("hint %q", b)
	}
	r := crun(t, args...)
	if r.code != 0 || r.stdout != host+"\n1\n" || !strings.Contains(r.stderr, prestarted) {
		t.Errorf("second run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestHintThatLies: a hint is a guess; a wrong one costs the prestarted
// init its life, not the container its namespaces, and is rewritten.
func TestHintThatLies(t *testing.T) {
	requireRoot(t)
	args := []string{"--trace", "--plugins", "uts,pid,mnt", "--hostname", uniqueHost(t), "run", "readlink", "/proc/self/ns/net"}
	hint := newHint(t, args...)
	b, _ := os.ReadFile(hint)
	lied := strings.Replace(string(b), "namespaces=mnt,uts,pid ", "namespaces=net ", 1)
	if lied == string(b) {
		t.Fatalf("unexpected hint %q", b)
	}
	if err := os.WriteFile(hint, []byte(lied), 0o600); err != nil {
		t.Fatal(err)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	r := crun(t, args...)
	if r.code != 0 || strings.TrimSpace(r.stdout) != hostNet {
		t.Errorf("after a lying hint: exit %d, net namespace %q (the host's: %q), stderr %q", r.code, r.stdout, hostNet, r.stderr)
	}
	if !strings.Contains(r.stderr, prestarted) || !strings.Contains(r.stderr, "crun init, started early, discarded") {
		t.Errorf("the prestarted init was not discarded: %q", r.stderr)
	}
	if b, _ := os.ReadFile(hint); !strings.Contains(string(b), "namespaces=mnt,uts,pid ") {
		t.Errorf("the hint was not rewritten: %q", b)
	}
}

// TestPrestartedInitKilledWhenPlanningFails: the prestarted init must go
// when the run fails before it has a plan (here: the rootfs of the hint's
// run is gone), and nothing may be left.
func TestPrestartedInitKilledWhenPlanningFails(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	if r := crun(t, "rootfs", "create", root); r.code != 0 {
		t.Fatalf("rootfs create: %s", r.stderr)
	}
	args := []string{"--trace", "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "--hostname", uniqueHost(t), "run", "/bin/true"}
	newHint(t, args...)
	os.RemoveAll(root)
	r := crun(t, args...)
	if r.code != 125 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("a removed rootfs: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, prestarted) || !strings.Contains(r.stderr, "crun init, started early, discarded") {
		t.Errorf("the prestarted init was not discarded: %q", r.stderr)
	}
	assertNothingLeft(t, before)
}

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

// TestCtrlCWhilePlanningReachesCrun: a prestarted init waits in the
// background; Ctrl-C typed while crun plans (here a plugin that takes its
// time) is crun's, which then starts nothing and cleans up. (Handed the
// terminal at once, the init took the Ctrl-C and crun never heard it.)
func TestCtrlCWhilePlanningReachesCrun(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	wait := filepath.Join(t.TempDir(), "wait")
	args := []string{"--trace", "--plugin-path", pluginDir, "--plugins", "uts,pid,mnt,slow", "-o", "slow.wait=" + wait,
		"--hostname", uniqueHost(t), "run", "true"}
	newHint(t, args...) // the first run leaves the hint

	os.WriteFile(wait, nil, 0o600) // the next run's plugin waits
	t.Cleanup(func() { os.Remove(wait) })
	master, slave := openPty(t)
	cmd := crunCmd(context.Background(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				out <- string(buf[:n])
			}
			if err != nil {
				close(out)
				return
			}
		}
	}()
	var seen strings.Builder
	deadline := time.After(10 * time.Second)
	for !strings.Contains(seen.String(), prestarted) {
		select {
		case s := <-out:
			seen.WriteString(s)
		case <-deadline:
			t.Fatalf("no prestart: %q", seen.String())
		}
	}
	time.Sleep(200 * time.Millisecond) // crun is planning
	master.Write([]byte{3})            // Ctrl-C
	time.Sleep(100 * time.Millisecond)
	os.Remove(wait) // let the plugin answer
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("crun did not end: %q", seen.String())
	}
	for len(out) > 0 {
		seen.WriteString(<-out)
	}
	code := cmd.ProcessState.ExitCode()
	text := seen.String()
	if code != 130 || !strings.Contains(text, "interrupted by SIGINT before the container started") ||
		!strings.Contains(text, "crun init, started early, discarded") {
		t.Errorf("Ctrl-C while planning: exit %d, output %q", code, text)
	}
	assertNothingLeft(t, before)
}
