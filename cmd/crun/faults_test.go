package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInputsThatWereAccepted: inputs crun used to take silently (issue
// 15, item 7) get a clear error, or the behaviour docker users know.
func TestInputsThatWereAccepted(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--plugins", "uts", "--hostname", "a\nb", "run", "true"}, `hostname "a\nb": '\n' is not allowed`},
		{[]string{"--plugins", "uts", "--hostname", "has space", "run", "true"}, `' ' is not allowed`},
		{[]string{"--plugins", "uts", "--stop-timeout", "-1s", "run", "true"}, "--stop-timeout -1s: want 0"},
		{[]string{"--plugins", "uts", "-o", "uts.hostname=a", "-o", "uts.hostname=b", "run", "true"}, `option "hostname" is given twice`},
		{[]string{"--plugins", "uts", "--hostname", "a", "-o", "uts.hostname=b", "run", "true"}, `option "hostname" is given twice`},
		{[]string{"--plugins", "mnt,chroot", "--rootfs", "/tmp", "--tmpfs", "/", "run", "true"}, "a tmpfs on / would hide the whole rootfs"},
	} {
		r := crun(t, c.args...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	// -e NAME copies crun's value; one crun does not have is left out.
	r := crun(t, "-e", "CRUN_TEST_UNSET_VARIABLE", "-e", "PATH", "run", "sh", "-c", `env | grep -c CRUN_TEST_UNSET_VARIABLE || true`)
	if r.code != 0 || r.stdout != "0\n" {
		t.Errorf("-e of an unset variable: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	assertNothingLeft(t, before)
}

// TestStopTimeoutZeroKillsAtOnce: --stop-timeout 0 kills the container
// right after the SIGTERM it ignores (as docker stop -t 0 does), instead
// of never.
func TestStopTimeoutZeroKillsAtOnce(t *testing.T) {
	requireRoot(t)
	// sleep as PID 1 of its namespace ignores SIGTERM (no handler).
	b := startCrun(t, "--plugins", "pid", "--stop-timeout", "0", "run", "sh", "-c", "echo started; exec sleep 30")
	b.waitLine(t, "started")
	time.Sleep(100 * time.Millisecond) // sleep has replaced the shell
	start := time.Now()
	b.signal(t, syscall.SIGTERM)
	code := b.wait(t)
	if took := time.Since(start); code != 137 || took > 2*time.Second {
		t.Errorf("exit %d after %v: want 137 at once", code, took)
	}
}

// TestPluginTimeoutHoldsOverItsChildren: a plugin whose processes of its
// own hold its stdout (a shell script's sleeps) fails the run when
// --plugin-timeout is up, not when they end, and none of them is left.
func TestPluginTimeoutHoldsOverItsChildren(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	dir := t.TempDir()
	script := "#!/bin/sh\nsleep 31.5 &\nsleep 31.5\n"
	if err := os.WriteFile(filepath.Join(dir, "crun-plugin-sleepy"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := crun(t, "--plugin-path", dir, "--plugins", "uts,sleepy", "--plugin-timeout", "1s", "--no-cache", "run", "true")
	took := time.Since(start)
	if r.code != 125 || !strings.Contains(r.stderr, `plugin "sleepy"`) || !strings.Contains(r.stderr, "--plugin-timeout") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if took > 4*time.Second {
		t.Errorf("crun took %v with --plugin-timeout 1s", took)
	}
	time.Sleep(100 * time.Millisecond)
	if out, _ := exec.Command("pgrep", "-f", "sleep 31.5").Output(); len(out) > 0 {
		t.Errorf("the plugin's processes are left: %s", out)
		exec.Command("pkill", "-f", "sleep 31.5").Run()
	}
	assertNothingLeft(t, before)
}
