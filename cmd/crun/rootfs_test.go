package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	rootfsOnce sync.Once
	rootfsDir  string
	rootfsErr  string
)

// testRootfs returns a busybox root file system made by crun rootfs
// create, with the probe at /probe. Tests must not change it.
func testRootfs(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	rootfsOnce.Do(func() {
		dir := filepath.Join(testDir, "rootfs")
		if out, err := exec.Command(crunBin, "rootfs", "create", dir).CombinedOutput(); err != nil {
			rootfsErr = "crun rootfs create: " + err.Error() + ": " + string(out)
			return
		}
		probe, err := os.ReadFile(probeBin)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "probe"), probe, 0o755)
		}
		if err != nil {
			rootfsErr = err.Error()
			return
		}
		rootfsDir = dir
	})
	if rootfsErr != "" {
		if os.Getenv("CI") == "" && strings.Contains(rootfsErr, "busybox") {
			t.Skip("no static busybox (apt-get install busybox-static): " + rootfsErr)
		}
		t.Fatal(rootfsErr)
	}
	return rootfsDir
}

// probeReport is what testdata/probe prints.
type probeReport struct {
	Root     []string `json:"root"`
	Procs    []int    `json:"procs"`
	Mounts   []string `json:"mounts"`
	Hostname string   `json:"hostname"`
	Pid      int      `json:"pid"`
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
	Dev      []string `json:"dev"`
}

func probeRootfs(t *testing.T, args ...string) probeReport {
	t.Helper()
	r := crun(t, append(args, "/probe")...)
	if r.code != 0 {
		t.Fatalf("crun %v /probe: exit %d, stderr %q", args, r.code, r.stderr)
	}
	var p probeReport
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("probe output %q: %v", r.stdout, err)
	}
	return p
}

func TestFullContainer(t *testing.T) {
	root := testRootfs(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c", "ps; ls /")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// ps: its header, the shell (PID 1) and ps itself; nothing of the host.
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ps []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] != "bin" {
			ps = append(ps, l)
		}
	}
	if !strings.Contains(lines[0], "PID") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1 ") {
		t.Errorf("ps inside:\n%s", r.stdout)
	}
	for _, want := range []string{"bin", "dev", "etc", "probe", "proc", "tmp"} {
		if !strings.Contains(r.stdout, "\n"+want+"\n") {
			t.Errorf("ls / inside lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNothingLeft(t, before)
}

func TestProbeSeesOnlyTheContainer(t *testing.T) {
	root := testRootfs(t)
	before := snapshot(t)
	p := probeRootfs(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "--env", "X=1", "run")
	entries, _ := os.ReadDir(root)
	var want []string
	for _, e := range entries {
		want = append(want, e.Name())
	}
	sort.Strings(p.Root)
	if !reflect.DeepEqual(p.Root, want) {
		t.Errorf("/ inside = %v, want the rootfs %v", p.Root, want)
	}
	if !reflect.DeepEqual(p.Procs, []int{1}) || p.Pid != 1 {
		t.Errorf("/proc inside lists %v and the probe is pid %d; want only [1]", p.Procs, p.Pid)
	}
	if p.Hostname != "container" || p.Cwd != "/" {
		t.Errorf("hostname %q cwd %q", p.Hostname, p.Cwd)
	}
	for _, m := range []string{"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/null"} {
		if !contains(p.Mounts, m) {
			t.Errorf("mounts inside %v lack %s", p.Mounts, m)
		}
	}
	for _, m := range p.Mounts {
		if strings.HasPrefix(m, root) || m == "/sys/fs/cgroup" {
			t.Errorf("a host mount is visible inside: %s (all: %v)", m, p.Mounts)
		}
	}
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "fd", "stdin", "stdout", "stderr", "ptmx"} {
		if !contains(p.Dev, d) {
			t.Errorf("/dev inside lacks %s: %v", d, p.Dev)
		}
	}
	if !contains(p.Env, "X=1") || !contains(p.Env, "HOSTNAME=container") {
		t.Errorf("env inside %v", p.Env)
	}
	assertNothingLeft(t, before)
}

func TestDevWorksInside(t *testing.T) {
	root := testRootfs(t)
	r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c",
		`echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 8 /dev/urandom | wc -c && echo shm > /dev/shm/f && cat /dev/shm/f`)
	if r.code != 0 || strings.Fields(r.stdout)[0] != "4" || !strings.HasSuffix(r.stdout, "shm\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestEscape is the lesson of pivot_root: the classic chroot escape finds
// no host behind a pivoted root, and finds it behind a plain chroot.
func TestEscape(t *testing.T) {
	root := testRootfs(t)
	marker := filepath.Join(t.TempDir(), "host-only-file")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"pivot_root (mnt)", []string{"--plugins", "uts,pid,mnt,chroot"}, "contained"},
		{"chroot with mnt", []string{"--plugins", "uts,pid,mnt,chroot", "-o", "chroot.method=chroot"}, "escaped"},
		{"chroot without mnt", []string{"--plugins", "uts,pid,chroot"}, "escaped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t)
			args := append(tt.args, "--rootfs", root, "run", "/probe", "escape", marker)
			r := crun(t, args...)
			if got := strings.TrimSpace(r.stdout); got != tt.want {
				t.Errorf("escape attempt: %q, want %q (stderr %q)", got, tt.want, r.stderr)
			}
			if tt.want == "escaped" && !strings.Contains(r.stderr, "root stays reachable") {
				t.Errorf("no warning that the host's root stays reachable: %q", r.stderr)
			}
			assertNothingLeft(t, before)
		})
	}
}

// TestContainerMntDemo is the talk's /mnt/container_mnt: a tmpfs mounted
// in the rootfs is visible on the host without a mount namespace,
// invisible with one, and gone after exit either way.
func TestContainerMntDemo(t *testing.T) {
	root := testRootfs(t)
	hostPath := filepath.Join(root, "mnt", "container_mnt")
	for _, withMnt := range []bool{false, true} {
		name := map[bool]string{false: "without mnt", true: "with mnt"}[withMnt]
		t.Run(name, func(t *testing.T) {
			before := snapshot(t)
			plugins := "uts,pid,chroot"
			if withMnt {
				plugins = "uts,pid,mnt,chroot"
			}
			b := startCrun(t, "--plugins", plugins, "--rootfs", root, "--tmpfs", "/mnt/container_mnt", "run", "/bin/sh", "-c",
				`echo secret > /mnt/container_mnt/file && echo ready && cat >/dev/null`)
			b.waitLine(t, "ready")
			_, err := os.Stat(filepath.Join(hostPath, "file"))
			visible := err == nil
			if visible == withMnt {
				t.Errorf("the container's file on the host: visible=%v, want %v", visible, !withMnt)
			}
			if code := b.wait(t); code != 0 {
				t.Fatalf("exit %d, stderr %s", code, b.stderr)
			}
			if _, err := os.Stat(filepath.Join(hostPath, "file")); err == nil {
				t.Errorf("the tmpfs is still on the host after exit")
			}
			assertNothingLeft(t, before)
		})
	}
}

func TestReadOnlyAndBinds(t *testing.T) {
	root := testRootfs(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "in"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t)
	r := crun(t, "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "--read-only",
		"--bind", src+":/data", "--bind", src+":/data-ro:ro", "--tmpfs", "/tmp:size=1m",
		"run", "/bin/sh", "-c",
		`touch /x 2>/dev/null && echo root-writable; cat /data/in; echo w > /data/out && echo bind-writable;
		 touch /data-ro/y 2>/dev/null || echo bind-ro; touch /tmp/t && echo tmp-writable`)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != "from host\nbind-writable\nbind-ro\ntmp-writable\n" {
		t.Errorf("inside: %q", r.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(src, "out")); err != nil || string(b) != "w\n" {
		t.Errorf("write through the bind mount: %q %v", b, err)
	}
	assertNothingLeft(t, before)
}

func TestRootfsErrors(t *testing.T) {
	root := testRootfs(t)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing rootfs", []string{"--rootfs", "/nonexistent/rootfs", "run", "/bin/true"}, 125, "rootfs /nonexistent/rootfs does not exist"},
		{"rootfs is a file", []string{"--rootfs", file, "run", "/bin/true"}, 125, "is not a directory"},
		{"no rootfs given", []string{"run", "/bin/true"}, 125, "no root file system: give --rootfs DIR"},
		{"command missing in the rootfs", []string{"--rootfs", root, "run", "bash"}, 127, "command not found in the container's PATH"},
		{"a missing bind source fails its step", []string{"--rootfs", root, "--bind", "/nonexistent-src:/x", "run", "/bin/true"}, 125,
			`plugin "chroot": step`},
	}
	for _, tt := range tests {
		for _, plugins := range []string{"uts,pid,mnt,chroot", "uts,pid,chroot"} {
			t.Run(tt.name+" "+plugins, func(t *testing.T) {
				before := snapshot(t)
				args := append([]string{"--plugins", plugins}, tt.args...)
				r := crun(t, args...)
				if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.want)
				}
				assertNothingLeft(t, before)
			})
		}
	}
}

func TestPivotNeedsMnt(t *testing.T) {
	root := testRootfs(t)
	r := crun(t, "--plugins", "pid,chroot", "-o", "chroot.method=pivot", "--rootfs", root, "run", "/bin/true")
	if r.code != 125 || !strings.Contains(r.stderr, `plugin "chroot": contribute: method pivot needs the mnt plugin`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestSIGKILLedCrunLeavesNothing kills crun with SIGKILL while its
// container runs: with mnt the mounts die with the namespace; without it,
// crun cleanup removes what the state file recorded.
func TestSIGKILLedCrunLeavesNothing(t *testing.T) {
	root := testRootfs(t)
	for _, withMnt := range []bool{true, false} {
		name := map[bool]string{false: "without mnt", true: "with mnt"}[withMnt]
		t.Run(name, func(t *testing.T) {
			before := snapshot(t)
			plugins := "uts,pid,chroot"
			if withMnt {
				plugins = "uts,pid,mnt,chroot"
			}
			b := startCrun(t, "--plugins", plugins, "--rootfs", root, "--tmpfs", "/mnt/killed", "run", "/bin/sh", "-c",
				`echo ready; exec sleep 60`)
			b.waitLine(t, "ready")
			b.killCrun(t)
			// The container dies with crun (Pdeathsig).
			deadline := time.Now().Add(5 * time.Second)
			for len(snapshot(t).processes) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			leftover := strings.Contains(hostMountinfo(t), filepath.Join(root, "mnt", "killed"))
			if leftover == withMnt {
				t.Errorf("the killed crun's tmpfs on the host: %v, want %v (with mnt it dies with the namespace)", leftover, !withMnt)
			}
			// The state file (and, without mnt, the mounts) wait for the
			// next crun or crun cleanup.
			r := crun(t, "cleanup")
			if r.code != 0 || !strings.Contains(r.stdout, "cleaned up after container") {
				t.Errorf("crun cleanup: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			assertNothingLeft(t, before)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSymlinkedRootfs: mountinfo lists real paths; a rootfs reached
// through a symlink must still be unmounted, without mnt, at exit.
func TestSymlinkedRootfs(t *testing.T) {
	root := testRootfs(t)
	link := filepath.Join(t.TempDir(), "rootfs-link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	for _, plugins := range []string{"uts,pid,chroot", "uts,pid,mnt,chroot"} {
		before := snapshot(t)
		r := crun(t, "--plugins", plugins, "--rootfs", link, "--tmpfs", "/mnt/via-link", "run", "/bin/sh", "-c", "ls /mnt >/dev/null")
		if r.code != 0 {
			t.Errorf("%s: exit %d, stderr %q", plugins, r.code, r.stderr)
		}
		assertNothingLeft(t, before)
	}
}

// TestMountPointsAfterTheRootSwitch: a mount point made after the root
// switch is inside the container's root. crun must not take its path for
// the host's and remove the host's directory of the same name.
func TestMountPointsAfterTheRootSwitch(t *testing.T) {
	root := testRootfs(t)
	hostDir := filepath.Join(t.TempDir(), "same-name")
	if err := os.Mkdir(hostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The same absolute path, missing inside the rootfs: the container
	// creates it there after pivot_root.
	inRoot := filepath.Join(root, hostDir)
	defer os.RemoveAll(filepath.Join(root, strings.Split(hostDir, "/")[1]))
	before := snapshot(t)
	r := crun(t, "--plugins", "uts,pid,mnt,chroot,latetmpfs", "--rootfs", root, "-o", "latetmpfs.path="+hostDir, "run", "/bin/true")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(hostDir); err != nil {
		t.Errorf("the host's %s is gone: crun removed a directory that was not its own (%v)", hostDir, err)
	}
	if _, err := os.Stat(inRoot); err != nil {
		t.Errorf("the mount point was not made inside the rootfs at %s: %v", inRoot, err)
	}
	assertNothingLeft(t, before)
}
