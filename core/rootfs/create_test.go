package rootfs

import (
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// requireStaticBusybox skips a test when the host has no static busybox
// at /bin/busybox, or fails it under CI, which is set up to have one.
func requireStaticBusybox(t *testing.T) {
	t.Helper()
	err := checkStatic("/bin/busybox")
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but there is no usable /bin/busybox: %v", err)
	}
	t.Skipf("needs a static /bin/busybox (apt-get install busybox-static): %v", err)
}

func TestCreate(t *testing.T) {
	requireStaticBusybox(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := Create(dir, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	checkCreated(t, dir)

	// Rerunning repairs a damaged tree and keeps edits.
	if err := os.Remove(filepath.Join(dir, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "bin/ls")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/elsewhere", filepath.Join(dir, "bin/ls")); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
	writeTestFile(t, filepath.Join(dir, "etc/passwd"), []byte(passwd))
	if err := Create(dir, CreateOptions{Busybox: "/bin/busybox"}); err != nil {
		t.Fatalf("Create on its own rootfs: %v", err)
	}
	checkCreated(t, dir)
	if got := readTestFile(t, filepath.Join(dir, "etc/passwd")); got != passwd {
		t.Errorf("rerunning Create changed etc/passwd to %q", got)
	}
}

func checkCreated(t *testing.T, dir string) {
	t.Helper()
	for name, mode := range map[string]fs.FileMode{
		"bin/busybox": 0o755, "tmp": 0o777 | fs.ModeSticky | fs.ModeDir, "root": 0o700 | fs.ModeDir,
		"proc": 0o755 | fs.ModeDir, "usr/sbin": 0o755 | fs.ModeDir, "var": 0o755 | fs.ModeDir,
	} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode(), mode)
		}
	}
	for _, name := range []string{"bin/sh", "bin/ls"} {
		if target, err := os.Readlink(filepath.Join(dir, name)); err != nil || target != "/bin/busybox" {
			t.Errorf("%s -> %q (%v), want /bin/busybox", name, target, err)
		}
	}
	if got, want := readTestFile(t, filepath.Join(dir, "bin/busybox")), readTestFile(t, "/bin/busybox"); got != want {
		t.Error("bin/busybox differs from /bin/busybox")
	}
	if got := readTestFile(t, filepath.Join(dir, "etc/passwd")); !strings.HasPrefix(got, "root:x:0:0:root:/root:/bin/sh\n") {
		t.Errorf("etc/passwd = %q", got)
	}
	if got := readTestFile(t, filepath.Join(dir, "etc/group")); !strings.Contains(got, "nogroup:") {
		t.Errorf("etc/group = %q", got)
	}
	if !madeByCreate(dir) {
		t.Error("no etc/crun-rootfs marker")
	}
}

// The rootfs works: its shell runs, chrooted, with nothing from the host.
func TestCreateRunsShell(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	dir := t.TempDir() // an empty directory is fine too
	if err := Create(dir, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "echo hello from $(readlink /bin/sh); ls /etc/crun-rootfs")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin"}
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "hello from /bin/busybox\n/etc/crun-rootfs\n" {
		t.Errorf("sh in the rootfs: %q, %v", out, err)
	}
}

func TestCreateRefusesNonEmpty(t *testing.T) {
	requireStaticBusybox(t)
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "notes.txt"), []byte("mine"))
	err := Create(dir, CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Create = %v, want a refusal of a non-empty directory", err)
	}
	mustNotExist(t, filepath.Join(dir, "bin"))
}

// A rerun must not follow a symlink put in place of one of its
// directories, or it would write busybox over the host's files.
func TestCreateRefusesSymlinkedDirectory(t *testing.T) {
	requireStaticBusybox(t)
	base := t.TempDir()
	dir := filepath.Join(base, "rootfs")
	if err := Create(dir, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := Create(dir, CreateOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Create = %v, want a refusal to write through bin", err)
	}
	mustNotExist(t, filepath.Join(outside, "busybox"))
}

func TestCreateRefusesDynamicBusybox(t *testing.T) {
	dynamic := "/bin/ls"
	f, err := elf.Open(dynamic)
	if err != nil {
		t.Skipf("no ELF %s to test with: %v", dynamic, err)
	}
	isDynamic := false
	for _, p := range f.Progs {
		isDynamic = isDynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	if !isDynamic {
		t.Skipf("%s is statically linked here", dynamic)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	err = Create(dir, CreateOptions{Busybox: dynamic})
	if err == nil || !strings.Contains(err.Error(), "apt-get install busybox-static") || !strings.Contains(err.Error(), dynamic) {
		t.Errorf("Create = %v, want a refusal of %s with the busybox-static advice", err, dynamic)
	}
	mustNotExist(t, dir)
}

func TestCreateWithoutBusybox(t *testing.T) {
	saved := busyboxPaths
	defer func() { busyboxPaths = saved }()
	busyboxPaths = []string{filepath.Join(t.TempDir(), "busybox")}
	err := Create(filepath.Join(t.TempDir(), "rootfs"), CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "apt-get install busybox-static") {
		t.Errorf("Create = %v, want the busybox-static advice", err)
	}
}
