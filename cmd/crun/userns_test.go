package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The user plugin, run by root and by an ordinary user. .ci/run makes
// the ordinary user (rootlessUserName) with a /etc/subuid range.

// rootlessUserName is the unprivileged user the rootless tests run crun
// as.
const rootlessUserName = "crun-test"

// hostRangeStart is where the user plugin maps the container's ids when
// root runs crun and /etc/subuid has no range for the user crun
// (plugins/user.DefaultHostID).
const hostRangeStart = 1879048192

// rootless is the ordinary user the rootless tests run as, with a
// runtime directory of its own.
type rootless struct {
	uid, gid uint32
	home     string // a directory of its own for the test
	xdg      string // its XDG_RUNTIME_DIR
	subuid   bool   // /etc/subuid gives it a range
}

var (
	rootlessOnce sync.Once
	rootlessUser *rootless
	rootlessErr  string
)

// rootlessRunner returns the ordinary user, or skips the test (fails it
// under CI) when the machine has none.
func rootlessRunner(t *testing.T) *rootless {
	t.Helper()
	requireRoot(t) // to switch to the user
	rootlessOnce.Do(func() {
		u, err := user.Lookup(rootlessUserName)
		if err != nil {
			rootlessErr = fmt.Sprintf("no user %s (.ci/run makes one: useradd --create-home %s): %v", rootlessUserName, rootlessUserName, err)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		r := &rootless{uid: uint32(uid), gid: uint32(gid), home: filepath.Join(testDir, "rootless")}
		r.xdg = filepath.Join(r.home, "xdg")
		for _, d := range []string{r.home, r.xdg} {
			if err := os.Mkdir(d, 0o700); err != nil {
				rootlessErr = err.Error()
				return
			}
			if err := os.Chown(d, uid, gid); err != nil {
				rootlessErr = err.Error()
				return
			}
		}
		sub, _ := os.ReadFile("/etc/subuid")
		r.subuid = bytes.Contains(sub, []byte("\n"+rootlessUserName+":")) || bytes.HasPrefix(sub, []byte(rootlessUserName+":"))
		rootlessUser = r
	})
	if rootlessErr != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(rootlessErr)
		}
		t.Skip(rootlessErr)
	}
	return rootlessUser
}

// crun runs crun as the user, with env added to a minimal environment.
func (u *rootless) crun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runToEnd(t, func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, crunBin, args...)
		cmd.Dir = u.home
		cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + u.home, "XDG_RUNTIME_DIR=" + u.xdg}, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}}
		return cmd
	})
}

var (
	rootlessRootfsOnce sync.Once
	rootlessRootfs     string
	rootlessRootfsErr  string
)

// rootfs is a root file system the user made with crun rootfs create:
// the user's files, the container root's.
func (u *rootless) rootfs(t *testing.T) string {
	t.Helper()
	rootlessRootfsOnce.Do(func() {
		dir := filepath.Join(u.home, "rootfs")
		if r := u.crun(t, nil, "rootfs", "create", dir); r.code != 0 {
			rootlessRootfsErr = fmt.Sprintf("crun rootfs create as %s: exit %d: %s", rootlessUserName, r.code, r.stderr)
			return
		}
		rootlessRootfs = dir
	})
	if rootlessRootfsErr != "" {
		t.Fatal(rootlessRootfsErr)
	}
	return rootlessRootfs
}

// leftovers lists what the user's runs left in its runtime directory:
// plugin sockets' directories and state files.
func (u *rootless) leftovers() []string {
	var left []string
	for _, pattern := range []string{"crun-go/run-*", "crun-go/state/*"} {
		m, _ := filepath.Glob(filepath.Join(u.xdg, pattern))
		left = append(left, m...)
	}
	return left
}

// TestUserNamespaceAsRoot: root's container runs as root inside and as
// an unprivileged host user outside: a file it makes in a bind mount
// belongs to that user on the host, a file only root may read stays
// closed to it whatever its capabilities, and its capabilities are of
// its namespace.
func TestUserNamespaceAsRoot(t *testing.T) {
	root := testRootfs(t)
	before := snapshot(t)
	// The container's root is an ordinary host user: the shared
	// directory is everyone's, and the way to it open.
	share := t.TempDir()
	for dir, mode := range map[string]os.FileMode{share: 0o777, filepath.Dir(share): 0o711} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	// The rootfs is root's: the container's root cannot make the mount
	// point (crun removes those it makes after each run).
	mountPoint := filepath.Join(root, "share")
	if err := os.Mkdir(mountPoint, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(mountPoint) })
	secret := filepath.Join(share, "secret")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	attempt := `id -u; tr -s ' ' < /proc/self/uid_map; touch /share/made; cat /share/secret || echo refused`
	for _, c := range []struct {
		plugins string
		want    string
		owner   uint32
	}{
		// Without user, root's container is root: the secret reads.
		{"uts,pid,mnt,chroot", "0\n 0 0 4294967295\nroot only\n", 0},
		{"user,uts,pid,mnt,chroot", "0\n 0 " + strconv.Itoa(hostRangeStart) + " 65536\nrefused\n", hostRangeStart},
	} {
		os.Remove(filepath.Join(share, "made"))
		r := crun(t, "--plugins", c.plugins, "--bind", share+":/share", "--rootfs", root, "run", "/bin/sh", "-c", attempt)
		if r.code != 0 || r.stdout != c.want {
			t.Errorf("%s: exit %d, stdout %q, want %q; stderr %q", c.plugins, r.code, r.stdout, c.want, r.stderr)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(share, "made"), &st); err != nil || st.Uid != c.owner || st.Gid != c.owner {
			t.Errorf("%s: the file the container made: %v, owner %d:%d on the host, want %d:%d", c.plugins, err, st.Uid, st.Gid, c.owner, c.owner)
		}
	}
	// Root in the namespace has every capability, which counts for what
	// the namespace owns: a tmpfs mount works, the hostname is its own.
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(last)))
	all := fmt.Sprintf("%016x", uint64(1)<<(n+1)-1)
	r := crun(t, "--plugins", "user,uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c",
		`grep CapEff /proc/self/status | tr -s '\t' ' '; mount -t tmpfs t /mnt && echo mounted; hostname inside && hostname`)
	if want := "CapEff: " + all + "\nmounted\ninside\n"; r.code != 0 || r.stdout != want {
		t.Errorf("capabilities in the namespace: exit %d, %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}
	assertNothingLeft(t, before)
}

// TestUserMapBadInput: maps the kernel would refuse, or that give the
// user ids it may not have, are refused by plugin and option before
// anything starts.
func TestUserMapBadInput(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "user.map=0:100000"}, `option map: "0:100000": want CONTAINER:HOST:SIZE`},
		{[]string{"-o", "user.map=0:100000:0"}, "is empty"},
		{[]string{"-o", "user.map=0:100000:10,5:200000:10"}, "overlap in the container"},
		{[]string{"-o", "user.gidmap=0:1:1"}, "gidmap without map"},
	} {
		r := crun(t, append([]string{"--plugins", "user,uts"}, append(c.args, "run", "true")...)...)
		if r.code != 125 || !strings.Contains(r.stderr, `plugin "user"`) || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	assertNothingLeft(t, before)
}

// TestRootless: an ordinary user makes a rootfs and runs containers in
// it, with the namespaces and with the default preset; its state goes in
// its XDG_RUNTIME_DIR and nothing is left.
func TestRootless(t *testing.T) {
	u := rootlessRunner(t)
	root := u.rootfs(t)
	before := snapshot(t)
	uid := strconv.Itoa(int(u.uid))

	// The user's own uid is the container's root; with /etc/subuid
	// ranges (and newuidmap) the ids from 1 up are mapped too.
	r := u.crun(t, nil, "--plugins", "user,uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c",
		`id -u; echo $$; hostname; head -1 /proc/self/uid_map | tr -s ' '; touch /made-inside && ls -n /made-inside | tr -s ' ' | cut -d' ' -f3`)
	want := "0\n1\ncontainer\n 0 " + uid + " 1\n0\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("user,uts,pid,mnt,chroot as %s: exit %d, stdout %q, want %q; stderr %q", rootlessUserName, r.code, r.stdout, want, r.stderr)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "made-inside"), &st); err != nil || st.Uid != u.uid {
		t.Errorf("the container root's file is not the user's on the host: %v, uid %d", err, st.Uid)
	}
	os.Remove(filepath.Join(root, "made-inside"))

	// The default preset: user added, cgroup left out with a warning
	// (cgroups here are root's).
	r = u.crun(t, nil, "--plugins", "default", "--rootfs", root, "run", "/bin/sh", "-c",
		`id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' '; echo x > /proc/sys/kernel/hostname || echo ro`)
	want = "0\nCapEff: 00000000800405fb\nNoNewPrivs: 1\nSeccomp: 2\nro\n"
	if r.code != 0 || r.stdout != want || !strings.Contains(r.stderr, "warning: default: no cgroup") {
		t.Errorf("--plugins default as %s: exit %d, stdout %q, want %q; stderr %q", rootlessUserName, r.code, r.stdout, want, r.stderr)
	}

	// Only its own ids, asked for: setgroups is denied.
	r = u.crun(t, nil, "--plugins", "user,uts", "-o", "user.map=0:"+uid+":1", "-o", "user.gidmap=0:"+strconv.Itoa(int(u.gid))+":1",
		"run", "/bin/sh", "-c", `cat /proc/self/uid_map /proc/self/setgroups | tr -s ' '`)
	if want := " 0 " + uid + " 1\ndeny\n"; r.code != 0 || r.stdout != want {
		t.Errorf("user.map of its own ids: exit %d, stdout %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}

	// crun's init as PID 1 runs from a sealed copy of crun (an ordinary
	// user may not make the read-only mount root's crun uses).
	r = u.crun(t, nil, "--plugins", "user,pid,mnt", "-o", "pid.init=true", "run", "/bin/sh", "-c",
		`readlink /proc/1/exe; echo x >> /proc/1/exe 2>/dev/null || echo refused`)
	if want := "/memfd:crun (deleted)\nrefused\n"; r.code != 0 || r.stdout != want {
		t.Errorf("pid.init as %s: exit %d, stdout %q, want %q; stderr %q", rootlessUserName, r.code, r.stdout, want, r.stderr)
	}

	// crun probe as the user: a user namespace of its own, root inside.
	rows := probeRows(t, u.crun(t, nil, "--plugins", "default", "--rootfs", root, "probe", "--json"))
	if rows["namespace user"]["verdict"] != "isolated" || !strings.HasPrefix(rows["uid map (inside outside count)"]["container"], "0 "+uid+" 1") {
		t.Errorf("probe as %s: %v %v", rootlessUserName, rows["namespace user"], rows["uid map (inside outside count)"])
	}

	// Bad input: ids that are not the user's; namespaces without user;
	// a cgroup it may not make.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--plugins", "user,uts", "-o", "user.map=0:" + uid + ":1,1:3000000000:10"}, "option map: host ids 3000000000-3000000009 are not yours to map"},
		{[]string{"--plugins", "uts,pid"}, "add the user plugin"},
		{[]string{"--plugins", "user,cgroup,uts"}, "may not create cgroups"},
	} {
		r := u.crun(t, nil, append(c.args, "run", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if left := u.leftovers(); len(left) > 0 {
		t.Errorf("left in the user's runtime directory: %v", left)
	}
	assertNothingLeft(t, before)
}

// TestRootlessSubordinateIDs: with /etc/subuid ranges and newuidmap, the
// container has 65536 ids: a file it gives to uid 7 belongs to the
// user's subordinate id on the host.
func TestRootlessSubordinateIDs(t *testing.T) {
	u := rootlessRunner(t)
	if !u.subuid {
		if os.Getenv("CI") != "" {
			t.Fatalf("/etc/subuid has no range for %s (.ci/run adds one)", rootlessUserName)
		}
		t.Skipf("/etc/subuid has no range for %s", rootlessUserName)
	}
	root := u.rootfs(t)
	r := u.crun(t, nil, "--plugins", "user,uts,pid,mnt,chroot", "--rootfs", root, "run", "/bin/sh", "-c",
		`wc -l < /proc/self/uid_map; touch /seven && chown 7:7 /seven && echo chowned`)
	if r.code != 0 || r.stdout != "2\nchowned\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	defer os.Remove(filepath.Join(root, "seven"))
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "seven"), &st); err != nil || st.Uid == 7 || st.Uid == u.uid || st.Uid < 65536 {
		t.Errorf("uid 7 of the container is host uid %d (%v): want one of the user's subordinate ids", st.Uid, err)
	}
}

// TestRunAs: --user and --group-add, as root and in a user namespace:
// the command runs as that user with those groups and no capability;
// an id the namespace does not map, or a name, is refused before
// anything starts.
func TestRunAs(t *testing.T) {
	root := testRootfs(t)
	before := snapshot(t)
	show := `id -u; id -g; id -G; grep CapEff /proc/self/status | tr -s '\t' ' '; touch /made 2>/dev/null || echo refused`
	want := "1000\n100\n100 5 6\nCapEff: 0000000000000000\nrefused\n"
	for _, plugins := range []string{"uts,pid,mnt,chroot,runas,caps,nnp", "user,uts,pid,mnt,chroot,runas,caps,nnp"} {
		r := crun(t, "--plugins", plugins, "--user", "1000:100", "--group-add", "5", "--group-add", "6",
			"--rootfs", root, "run", "/bin/sh", "-c", show)
		if r.code != 0 || r.stdout != want {
			t.Errorf("%s: exit %d, stdout %q, want %q; stderr %q", plugins, r.code, r.stdout, want, r.stderr)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--plugins", "uts,runas", "--user", "alice"}, `option user: "alice": give a number`},
		{[]string{"--plugins", "uts", "--user", "1000"}, `plugin "runas" is not enabled`},
		{[]string{"--plugins", "user,uts,runas", "-o", "user.map=0:100000:1000", "--user", "1000"},
			`plugin "runas": step set_user: uid 1000 is not mapped in the user namespace (plugin "user" maps uids 0:100000:1000`},
		{[]string{"--plugins", "user,uts,runas", "-o", "user.map=0:100000:1000", "--user", "10", "--group-add", "4000"}, `gid 4000 is not mapped`},
	} {
		r := crun(t, append(c.args, "run", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	assertNothingLeft(t, before)
}
