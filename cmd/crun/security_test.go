package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRestrictionsStopRoot: each attempt of root in the container
// succeeds without the plugin that stops it, and fails with it. The
// container has a rootfs and mount, PID and UTS namespaces of its own
// either way.
func TestRestrictionsStopRoot(t *testing.T) {
	root := testRootfs(t)
	base := "uts,pid,mnt,chroot"
	for _, c := range []struct {
		name    string
		with    string // plugins both runs have besides base
		plugin  string // the one that stops the attempt
		attempt string
	}{
		// (chroot.nodev=false: nodev would stop the read on its own;
		// TestDeviceNodesStayClosed shows that.)
		{"mknod a host device and read it (the kernel's log: /dev/kmsg, c 1 11)", "", "caps",
			"mknod /dev/kmsg2 c 1 11 && head -c 1 /dev/kmsg2 >/dev/null"},
		{"mount a file system", "", "caps", "mount -t tmpfs none /mnt"},
		{"mount the cgroup file system (the release_agent escape)", "", "caps", "mount -t cgroup -o memory cgroup /mnt"},
		// Anyone may make a user namespace, capabilities or not: the
		// filter is what stops it.
		{"make a user namespace (unshare -U)", "caps", "seccomp", "unshare -U true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t)
			plugins := base
			if c.with != "" {
				plugins += "," + c.with
			}
			open := crun(t, "--plugins", plugins, "-o", "chroot.nodev=false", "--rootfs", root, "run", "/bin/sh", "-c", c.attempt)
			if open.code != 0 {
				t.Errorf("without %s the attempt fails already: exit %d, %q", c.plugin, open.code, open.stderr)
			}
			closed := crun(t, "--plugins", plugins+","+c.plugin, "-o", "chroot.nodev=false", "--rootfs", root, "run", "/bin/sh", "-c", c.attempt)
			denied := strings.ToLower(closed.stderr)
			if closed.code == 0 || !strings.Contains(denied, "not permitted") && !strings.Contains(denied, "permission denied") {
				t.Errorf("with %s: exit %d, stdout %q, stderr %q; want it refused", c.plugin, closed.code, closed.stdout, closed.stderr)
			}
			assertNothingLeft(t, before)
		})
	}
}

// TestRestrictionsAsTheKernelSeesThem: what /proc says of the command's
// process with caps, nnp and seccomp.
func TestRestrictionsAsTheKernelSeesThem(t *testing.T) {
	root := testRootfs(t)
	r := crun(t, "--plugins", "uts,pid,mnt,chroot,caps,nnp,seccomp", "--rootfs", root, "run", "/bin/sh", "-c",
		`grep -E '^(CapEff|CapBnd|CapPrm|CapInh|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t ' ' '`)
	// Podman's eleven: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID,
	// SETUID, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, SETFCAP.
	want := "CapInh: 0000000000000000\nCapPrm: 00000000800405fb\nCapEff: 00000000800405fb\nCapBnd: 00000000800405fb\n" +
		"CapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	r = crun(t, "--plugins", "uts,pid,mnt,chroot,caps", "-o", "caps.drop=ALL", "-o", "caps.add=chown,CAP_KILL", "--rootfs", root,
		"run", "/bin/sh", "-c", `grep CapEff: /proc/self/status | tr -s '\t ' ' '`)
	if r.code != 0 || r.stdout != "CapEff: 0000000000000021\n" {
		t.Errorf("caps.drop=ALL, caps.add=chown,CAP_KILL: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestRestrictionsBadInput: an unknown capability name and a profile
// that is not one are refused, by plugin and option, before anything
// starts.
func TestRestrictionsBadInput(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "caps.add=CAP_FLY"}, `plugin "caps"`},
		{[]string{"-o", "caps.add=CAP_FLY"}, `option add: unknown capability "CAP_FLY"`},
		{[]string{"-o", "seccomp.profile=/nonexistent"}, `option profile: open /nonexistent: no such file or directory`},
	} {
		plugins := "uts,pid,mnt,caps,seccomp"
		r := crun(t, append([]string{"--plugins", plugins}, append(c.args, "run", "true")...)...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	assertNothingLeft(t, before)
}

// TestMaskStopsTheKernelEscapes: /proc/sys is read-only with the mask
// plugin (writing core_pattern makes the kernel run a program of the
// writer's choosing, as root, on the host), /proc/sysrq-trigger too, and
// /proc/kcore is hidden where the kernel has it. The write without mask
// puts core_pattern's own value back: the host is left as it was.
func TestMaskStopsTheKernelEscapes(t *testing.T) {
	root := testRootfs(t)
	attempts := map[string]string{
		"core_pattern": `v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern`,
		"kcore":        `head -c 1 /proc/kcore >/dev/null`,
	}
	for name, attempt := range attempts {
		if name == "kcore" {
			if _, err := os.Stat("/proc/kcore"); err != nil {
				t.Log("no /proc/kcore on this kernel: that attempt is skipped")
				continue
			}
		}
		before := snapshot(t)
		open := crun(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c", attempt)
		if open.code != 0 {
			t.Errorf("%s without mask fails already: exit %d, %q", name, open.code, open.stderr)
		}
		closed := crun(t, "--plugins", "uts,pid,mnt,chroot,mask", "--rootfs", root, "run", "/bin/sh", "-c", attempt)
		if closed.code == 0 {
			t.Errorf("%s with mask: it worked (stdout %q)", name, closed.stdout)
		}
		assertNothingLeft(t, before)
	}
	r := crun(t, "--plugins", "uts,pid,mnt,chroot,mask", "--rootfs", root, "run", "/bin/sh", "-c",
		`cat /proc/keys | wc -l; ls -A /proc/acpi | wc -l; echo x > /proc/sysrq-trigger || echo refused`)
	if r.code != 0 || r.stdout != "0\n0\nrefused\n" {
		t.Errorf("keys, acpi, sysrq-trigger: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	// Its steps would hide the host's paths without a mount namespace.
	r = crun(t, "--plugins", "uts,pid,mask", "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, `"mask"`) || !strings.Contains(r.stderr, "mnt") {
		t.Errorf("mask without mnt: exit %d, %q", r.code, r.stderr)
	}
}

// TestDeviceNodesStayClosed: a device node the container brings does not
// open, whether its rootfs holds it, a bound directory does, or it makes
// one (with CAP_MKNOD given back): nodev on the rootfs, on bound
// directories and on its tmpfs mounts. The devices crun binds into /dev
// work, and so does a device bound on its own.
func TestDeviceNodesStayClosed(t *testing.T) {
	requireRoot(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command(crunBin, "rootfs", "create", root).CombinedOutput(); err != nil {
		t.Fatalf("rootfs create: %v: %s", err, out)
	}
	if err := unix.Mknod(filepath.Join(root, "kmsg"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 11))); err != nil {
		t.Fatal(err)
	}
	read := "head -c 1 /kmsg >/dev/null && echo read"
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot", "-o", "chroot.nodev=false", "--rootfs", root, "run", "/bin/sh", "-c", read); r.stdout != "read\n" {
		t.Errorf("chroot.nodev=false: the node in the rootfs does not open: %q %q", r.stdout, r.stderr)
	}
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c", read); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("the rootfs's node opened: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	// A node in a bound directory is not given either; a device bound on
	// its own is.
	dir := t.TempDir()
	if err := unix.Mknod(filepath.Join(dir, "kmsg"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 11))); err != nil {
		t.Fatal(err)
	}
	readBound := "head -c 1 /bound/kmsg >/dev/null && echo read"
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--bind", dir+":/bound", "--rootfs", root, "run", "/bin/sh", "-c", readBound); r.code == 0 ||
		!strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("the node in a bound directory opened: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--bind", dir+":/bound:ro", "--rootfs", root, "run", "/bin/sh", "-c", readBound); r.code == 0 {
		t.Errorf("the node in a read-only bound directory opened: %q %q", r.stdout, r.stderr)
	}
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot", "-o", "chroot.nodev=false", "--bind", dir+":/bound", "--rootfs", root, "run", "/bin/sh", "-c", readBound); r.stdout != "read\n" {
		t.Errorf("chroot.nodev=false: the node in a bound directory does not open: %q %q", r.stdout, r.stderr)
	}
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--bind", filepath.Join(dir, "kmsg")+":/given", "--rootfs", root, "run", "/bin/sh", "-c",
		"head -c 1 /given >/dev/null && echo read"); r.stdout != "read\n" {
		t.Errorf("a device bound on its own does not open: %q %q", r.stdout, r.stderr)
	}
	made := "mknod /dev/k c 1 11 && { head -c 1 /dev/k >/dev/null && echo read; echo x > /dev/null && echo null-works; }"
	if r := crun(t, "--plugins", "uts,pid,mnt,chroot,caps", "-o", "caps.add=MKNOD", "--rootfs", root, "run", "/bin/sh", "-c", made); r.stdout != "null-works\n" ||
		!strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("a node made in /dev: %q %q", r.stdout, r.stderr)
	}
}

// TestOnlyStdioReachTheCommand: the command gets fds 0, 1 and 2 and none
// of the others crun was started with, unless --preserve-fds passes them
// on (3 to 3+N-1). With crun's init as PID 1, the same.
func TestOnlyStdioReachTheCommand(t *testing.T) {
	requireRoot(t)
	f, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "0 1 2 \n"},
		{[]string{"-o", "pid.init=true"}, "0 1 2 \n"},
		{[]string{"--preserve-fds", "2"}, "0 1 2 3 4 \n"},
		{[]string{"--preserve-fds", "1", "-o", "pid.init=true"}, "0 1 2 3 \n"},
	} {
		// fds 3 and 4 in crun, without close-on-exec, as a shell passes them.
		cmd := exec.Command(crunBin, append(append([]string{"--plugins", "uts,pid,mnt"}, c.args...),
			"run", "sh", "-c", `for n in 0 1 2 3 4 5 6; do [ -e /proc/self/fd/$n ] && printf '%s ' $n; done; echo`)...)
		cmd.ExtraFiles = []*os.File{f, f}
		out, err := cmd.Output()
		if err != nil || string(out) != c.want {
			t.Errorf("%v: %v, the command's fds %q, want %q", c.args, err, out, c.want)
		}
	}
	if r := crun(t, "--plugins", "uts", "--preserve-fds", "-1", "run", "true"); r.code != 125 || !strings.Contains(r.stderr, "--preserve-fds -1") {
		t.Errorf("--preserve-fds -1: exit %d, %q", r.code, r.stderr)
	}
}

// TestDefaultPreset: --plugins default is what container engines give a
// container; crun plan shows it expanded, crun plugins lists it, and it
// combines with more plugins.
func TestDefaultPreset(t *testing.T) {
	root := testRootfs(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "default", "--rootfs", root, "run", "/bin/sh", "-c",
		`hostname; echo $$; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' '; `+
			`grep -c :pids:/crun/ /proc/self/cgroup; echo x > /proc/sys/kernel/hostname || echo ro`)
	want := "container\n1\nCapEff: 00000000800405fb\nNoNewPrivs: 1\nSeccomp: 2\n1\nro\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("--plugins default: exit %d, stdout:\n%s\nwant:\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	r = crun(t, "plan", "--plugins", "default,tmpfs", "--plugin-path", pluginDir, "--rootfs", root, "--", "sh")
	for _, p := range []string{"uts", "pid", "mnt", "cgroup", "caps", "nnp", "seccomp", "mask", "chroot", "tmpfs"} {
		if !strings.Contains(r.stdout, p+" ") {
			t.Errorf("plan --plugins default,tmpfs: no %s in %q", p, r.stdout)
		}
	}
	r = crun(t, "plugins")
	if !strings.Contains(r.stdout, "\ndefault: what container engines give a container: uts, pid, mnt, cgroup, caps, nnp, seccomp, mask") {
		t.Errorf("crun plugins does not list the preset: %q", r.stdout)
	}
	assertNothingLeft(t, before)
}
