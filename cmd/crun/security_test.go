package main

import (
	"strings"
	"testing"
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
			open := crun(t, "--plugins", plugins, "--rootfs", root, "run", "/bin/sh", "-c", c.attempt)
			if open.code != 0 {
				t.Errorf("without %s the attempt fails already: exit %d, %q", c.plugin, open.code, open.stderr)
			}
			closed := crun(t, "--plugins", plugins+","+c.plugin, "--rootfs", root, "run", "/bin/sh", "-c", c.attempt)
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
