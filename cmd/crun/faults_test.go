package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// freshRootfs makes a rootfs of the test's own under parent (crun rootfs
// create), for tests that mount in it on the host.
func freshRootfs(t *testing.T, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, "rootfs")
	if out, err := exec.Command(crunBin, "rootfs", "create", dir).CombinedOutput(); err != nil {
		t.Fatalf("crun rootfs create: %v\n%s", err, out)
	}
	return dir
}

// mountsUnder lists the host's mounts at or below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(hostMountinfo(t), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// TestContainersSharingARootfsKeepTheirMounts (issue 15, item 1): two
// containers without a mount namespace on one rootfs stack their /proc
// and /dev on the same paths. The older one ending, or crun cleanup after
// it was killed, must not take the younger one's: crun undoes its mounts
// by id, and leaves one covered by the other container's until that one
// is gone.
func TestContainersSharingARootfsKeepTheirMounts(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	rootfs := freshRootfs(t, t.TempDir())
	// The younger container counts /dev's entries and writes to /dev/null
	// once the older one is gone.
	younger := `echo started; read x; ls /dev | wc -l; echo x > /dev/null; [ -c /dev/null ] && echo null-is-a-device; ls /proc/self/status`
	for _, end := range []string{"exits", "killed, then crun cleanup"} {
		t.Run(end, func(t *testing.T) {
			a := startCrun(t, "--name", "shared-a", "--plugins", "chroot", "--rootfs", rootfs, "run", "sh", "-c", "echo started; read x; true")
			a.waitLine(t, "started")
			b := startCrun(t, "--name", "shared-b", "--plugins", "chroot", "--rootfs", rootfs, "run", "sh", "-c", younger)
			b.waitLine(t, "started")
			if end == "exits" {
				if code := a.wait(t); code != 0 {
					t.Fatalf("the older container: exit %d, %s", code, a.stderr)
				}
			} else {
				a.killCrun(t)
				r := crun(t, "cleanup")
				if r.code != 0 || !strings.Contains(r.stdout, `left for later: container "shared-a"`) {
					t.Errorf("crun cleanup: exit %d, %q %q", r.code, r.stdout, r.stderr)
				}
			}
			if code := b.wait(t); code != 0 {
				t.Fatalf("the younger container: exit %d, %s", code, b.stderr)
			}
			lines := strings.Split(strings.TrimSpace(b.stdout.String()), "\n")
			if len(lines) != 4 || lines[1] == "0" || lines[2] != "null-is-a-device" || lines[3] != "/proc/self/status" {
				t.Errorf("the younger container lost its /dev or /proc when the older one ended: %q", lines)
			}
			if fi, err := os.Lstat(filepath.Join(rootfs, "dev", "null")); err == nil {
				t.Errorf("the rootfs has a dev/null of its own (%v): a write went to the host's tree", fi.Mode())
			}
			// The younger one's end cleans up the mounts of the older
			// one that were under its own.
			if left := mountsUnder(t, rootfs); len(left) > 0 {
				t.Errorf("mounts left in the rootfs: %v", left)
			}
		})
	}
	assertNothingLeft(t, before)
}

// TestMountPathsThatAreNotUTF8 (issue 15, item 8): a mount whose host
// path is not UTF-8 is cleaned up after a killed crun: the state file
// keeps the path byte for byte (JSON turned the odd bytes into U+FFFD,
// and the mount was never found again). Plugins speak UTF-8 (protobuf):
// such a path comes from the rootfs, here a /proc that is a symlink.
func TestMountPathsThatAreNotUTF8(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	rootfs := freshRootfs(t, t.TempDir())
	if err := os.Rename(filepath.Join(rootfs, "proc"), filepath.Join(rootfs, "pr\xe9c")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pr\xe9c", filepath.Join(rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	b := startCrun(t, "--plugins", "chroot", "--rootfs", rootfs, "run", "sh", "-c", "echo started; read x")
	b.waitLine(t, "started")
	if !slices.Contains(mountsUnder(t, rootfs), rootfs+"/pr\xe9c") {
		t.Fatalf("no mount on the path that is not UTF-8: the test tests nothing (%q)", mountsUnder(t, rootfs))
	}
	b.killCrun(t)
	if r := crun(t, "cleanup"); r.code != 0 || !strings.Contains(r.stdout, "cleaned up after container") {
		t.Errorf("crun cleanup: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if left := mountsUnder(t, rootfs); len(left) > 0 {
		t.Errorf("mounts left: %q", left)
	}
	assertNothingLeft(t, before)
}

// TestAfterExitHooksAreReplayed (issue 15, item 8): a plugin's after-exit
// hook runs when the container ends, and, when crun was killed, when
// crun cleanup cleans up after it: the state file records the hook and
// where its plugin is, and cleanup launches the plugin to call it (as a
// CNI runtime calls DEL).
func TestAfterExitHooksAreReplayed(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	log := filepath.Join(t.TempDir(), "hook.log")
	hooked := []string{"--plugins", "uts,exithook", "-o", "exithook.file=" + log}

	r := crun(t, append(append([]string{"--name", "hook-ends"}, hooked...), "run", "true")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(log); string(got) != "record hook-ends after-exit\n" {
		t.Errorf("after a run that ended, the hook wrote %q", got)
	}

	b := startCrun(t, append(append([]string{"--name", "hook-killed"}, hooked...), "run", "sh", "-c", "echo started; read x")...)
	b.waitLine(t, "started")
	b.killCrun(t)
	if got, _ := os.ReadFile(log); strings.Contains(string(got), "hook-killed") {
		t.Fatalf("the hook ran though crun was killed: %q", got)
	}
	r = crun(t, "cleanup")
	if r.code != 0 || !strings.Contains(r.stdout, "cleaned up after container hook-killed") {
		t.Errorf("crun cleanup: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(log); !strings.HasSuffix(string(got), "record hook-killed after-exit\n") {
		t.Errorf("crun cleanup did not call the killed container's hook: %q", got)
	}
	assertNothingLeft(t, before)
}

// TestMountPointsMadeInTheRootfsAreRemoved (issue 15, item 7): the mount
// points crun makes in a rootfs for --tmpfs and --bind are removed after
// the run, and nothing else is: not the rootfs's own directories (the
// container's /dev/pts is made in its /dev tmpfs, while the rootfs has a
// dev/pts of its own), and not a mount point another running container
// on the same rootfs may use, which goes once that one ends.
func TestMountPointsMadeInTheRootfsAreRemoved(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	dir := t.TempDir()
	rootfs := freshRootfs(t, dir)
	if err := os.MkdirAll(filepath.Join(rootfs, "dev", "pts"), 0o755); err != nil {
		t.Fatal(err)
	}
	hostFile := filepath.Join(dir, "extra.conf")
	if err := os.WriteFile(hostFile, []byte("extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := func() []string {
		var out []string
		filepath.Walk(rootfs, func(p string, fi os.FileInfo, err error) error {
			if err == nil {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	treeBefore := tree()
	withMnt := []string{"--plugins", "uts,pid,mnt,chroot", "--rootfs", rootfs}
	r := crun(t, append(withMnt, "--tmpfs", "/scratch/a", "--bind", hostFile+":/etc/extra/extra.conf",
		"run", "sh", "-c", "ls -d /scratch/a && cat /etc/extra/extra.conf")...)
	if r.code != 0 || r.stdout != "/scratch/a\nextra\n" {
		t.Fatalf("exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if d := diff(treeBefore, tree()); d != "" {
		t.Errorf("the rootfs changed:\n%s", d)
	}

	// Two containers: the first makes /data for its bind mount, the
	// second binds there too; the first ends while the second runs.
	first := startCrun(t, append(withMnt, "--name", "made-data", "--bind", dir+":/data", "run", "sh", "-c", "echo started; read x; true")...)
	first.waitLine(t, "started")
	second := startCrun(t, append(withMnt, "--name", "uses-data", "--bind", dir+":/data", "run", "sh", "-c",
		"echo started; read x; cat /data/extra.conf")...)
	second.waitLine(t, "started")
	if code := first.wait(t); code != 0 {
		t.Fatalf("first: exit %d, %s", code, first.stderr)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "data")); err != nil {
		t.Errorf("the mount point the second container uses is gone: %v", err)
	}
	if code := second.wait(t); code != 0 || second.stdout.String() != "started\nextra\n" {
		t.Errorf("second: exit %d, %q, %s: its bind mount went with the first container", code, second.stdout, second.stderr)
	}
	if d := diff(treeBefore, tree()); d != "" {
		t.Errorf("after both, the rootfs changed:\n%s", d)
	}
	assertNothingLeft(t, before)
}

// TestHookTimeout: a live hook that does not return within --hook-timeout
// fails its step with a message naming the flag; the state file stays, and
// crun cleanup calls the hook again.
func TestHookTimeout(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	dir := t.TempDir()
	log, hold := filepath.Join(dir, "hook.log"), filepath.Join(dir, "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := crun(t, "--name", "slow-hook", "--hook-timeout", "300ms", "--plugins", "uts,exithook",
		"-o", "exithook.file="+log, "-o", "exithook.hold="+hold, "run", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "the hook did not return within 300ms (--hook-timeout)") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("crun took %v with --hook-timeout 300ms", took)
	}
	os.Remove(hold)
	if r := crun(t, "cleanup"); r.code != 0 || !strings.Contains(r.stdout, "cleaned up after container slow-hook") {
		t.Errorf("crun cleanup: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(log); string(got) != "record slow-hook after-exit\n" {
		t.Errorf("the hook wrote %q", got)
	}
	if r := crun(t, "--hook-timeout", "0s", "--plugins", "uts", "run", "true"); r.code != 125 || !strings.Contains(r.stderr, "want a positive duration") {
		t.Errorf("--hook-timeout 0s: exit %d, %q", r.code, r.stderr)
	}
	assertNothingLeft(t, before)
}

// TestPluginLogLevel: a plugin's debug lines reach crun's stderr with
// --log-level debug (the plugin's logger follows crun's level), and not
// with info.
func TestPluginLogLevel(t *testing.T) {
	requireRoot(t)
	log := filepath.Join(t.TempDir(), "hook.log")
	for level, shown := range map[string]bool{"debug": true, "info": false} {
		r := crun(t, "--no-cache", "--log-level", level, "--plugins", "uts,exithook", "-o", "exithook.file="+log, "run", "true")
		if r.code != 0 || strings.Contains(r.stderr, "exithook contributes a hook") != shown {
			t.Errorf("--log-level %s: exit %d, the plugin's debug line shown %v, want %v; stderr %q", level, r.code, !shown, shown, r.stderr)
		}
	}
}
