package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// probeRows runs crun probe --json and returns its rows by what they
// show.
func probeRows(t *testing.T, r result) map[string]map[string]string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("crun probe: exit %d, stderr %q", r.code, r.stderr)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("crun probe --json: %v: %q", err, r.stdout)
	}
	byWhat := map[string]map[string]string{}
	for _, row := range rows {
		byWhat[row["what"]] = row
	}
	return byWhat
}

// TestProbe: crun probe's host column is what the kernel says of the
// host (the test's own /proc/self/ns), its container column differs for
// exactly the namespaces the plugins ask for, and the default preset's
// restrictions show as the container sees them.
func TestProbe(t *testing.T) {
	root := testRootfs(t)
	before := snapshot(t)
	rows := probeRows(t, crun(t, "--plugins", "uts,pid,mnt", "probe", "--json"))
	isolated := map[string]bool{"uts": true, "pid": true, "mnt": true}
	for _, ns := range []string{"mnt", "uts", "ipc", "net", "pid", "user", "cgroup"} {
		row := rows["namespace "+ns]
		own, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		if row["host"] != own {
			t.Errorf("namespace %s: host %q, the kernel says %q", ns, row["host"], own)
		}
		if (row["container"] != own) != isolated[ns] || !strings.HasPrefix(row["container"], ns+":[") {
			t.Errorf("namespace %s: container %q, host %q: want isolated=%v", ns, row["container"], own, isolated[ns])
		}
	}
	if rows["hostname"]["container"] != "container" || rows["processes visible"]["container"] != "1" ||
		rows["PID 1"]["container"] != "crun-probe (the probe is PID 1)" {
		t.Errorf("hostname, processes, PID 1: %v %v %v", rows["hostname"], rows["processes visible"], rows["PID 1"])
	}

	// No plugin: the container shares everything with the host.
	rows = probeRows(t, crun(t, "probe", "--json"))
	for what, row := range rows {
		if row["verdict"] == "isolated" || row["verdict"] == "restricted" {
			t.Errorf("no plugin: %s is %s: %v", what, row["verdict"], row)
		}
	}

	rows = probeRows(t, crun(t, "--plugins", "default", "--rootfs", root, "probe", "--json"))
	for what, verdict := range map[string]string{
		"root directory": "isolated", "capabilities, effective": "restricted", "capabilities, bounding": "restricted",
		"no_new_privs": "restricted", "seccomp": "filtered", "cgroup pids": "limited", "/proc/sys": "restricted",
		"a host device (kernel log)": "restricted", "fds beyond 0-2": "closed",
	} {
		if rows[what]["verdict"] != verdict {
			t.Errorf("default: %s: %v, want %s", what, rows[what], verdict)
		}
	}
	if rows["cgroup pids"]["container"] != "1024" || rows["fds beyond 0-2"]["container"] != "none" {
		t.Errorf("default: pids %v, fds %v", rows["cgroup pids"], rows["fds beyond 0-2"])
	}

	// The probe needs nothing of the rootfs: an empty one will do.
	rows = probeRows(t, crun(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", t.TempDir(), "probe", "--json"))
	if rows["root directory"]["verdict"] != "isolated" || rows["hostname"]["container"] != "container" {
		t.Errorf("an empty rootfs: %v %v", rows["root directory"], rows["hostname"])
	}

	if r := crun(t, "--plugins", "uts", "probe", "sh"); r.code != 125 || !strings.Contains(r.stderr, "takes no command") {
		t.Errorf("probe with a command: exit %d, %q", r.code, r.stderr)
	}
	assertNothingLeft(t, before)
}
