package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pluginName is the plugin the harness builds and installs.
const pluginName = "workdir"

func TestCrunListsThePlugin(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "plugins")
	if r.Code != 0 {
		t.Fatalf("crun plugins: exit %d: %s", r.Code, r.Stderr)
	}
	for _, want := range []string{
		"workdir " + version + " (" + filepath.Join(pluginDir, "crun-plugin-workdir") + ")",
		`-o workdir.path=STRING, default "/"`,
		"runs after:  chroot",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("crun plugins does not show %q:\n%s", want, r.Stdout)
		}
	}
	nothingLeft(t, before)
}

func TestRunStartsInTheDirectory(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	// /bin/pwd asks the kernel (getcwd); echo shows the environment.
	r := crun(t, "--plugins", "workdir", "-o", "workdir.path=/usr/share/", "run", "sh", "-c", `/bin/pwd; echo "PWD=$PWD"`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if want := "/usr/share\nPWD=/usr/share\n"; r.Stdout != want {
		t.Errorf("got %q, want %q", r.Stdout, want)
	}
	if r.Stderr != "" {
		t.Errorf("unexpected stderr: %s", r.Stderr)
	}
	nothingLeft(t, before)
}

func TestRelativePathWarns(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "workdir", "-o", "workdir.path=usr", "run", "/bin/pwd")
	if r.Code != 0 || r.Stdout != "/usr\n" {
		t.Fatalf("exit %d, stdout %q, want /usr: %s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, `crun: warning: workdir: path "usr" is relative`) {
		t.Errorf("no warning about the relative path: %s", r.Stderr)
	}
	nothingLeft(t, before)
}

func TestBadPathIsRefused(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "workdir", "-o", "workdir.path=", "run", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, `plugin "workdir"`) || !strings.Contains(r.Stderr, "option path is empty") {
		t.Errorf("exit %d, stderr %q: want 125 and the plugin's message", r.Code, r.Stderr)
	}
	// A directory that does not exist is the kernel's to refuse, when
	// crun's init runs the step.
	r = crun(t, "--plugins", "workdir", "-o", "workdir.path=/nonexistent/crun-example", "run", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, "chdir") {
		t.Errorf("exit %d, stderr %q: want 125 and the failed chdir", r.Code, r.Stderr)
	}
	nothingLeft(t, before)
}

// TestInsideTheRootfs shows why the chdir is in the configure phase: the
// path is found in the container's root, after the root switch.
func TestInsideTheRootfs(t *testing.T) {
	requireRoot(t)
	rootfs := filepath.Join(testDir, "rootfs")
	if _, err := os.Stat(rootfs); err != nil {
		if out, err := exec.Command(crunBin, "rootfs", "create", rootfs).CombinedOutput(); err != nil {
			if os.Getenv("CI") == "" && strings.Contains(string(out), "busybox") {
				t.Skip("no static busybox (apt-get install busybox-static): " + string(out))
			}
			t.Fatalf("crun rootfs create: %v: %s", err, out)
		}
	}
	// A directory that exists only in the rootfs, not on the host.
	only := "/only-in-the-rootfs"
	if err := os.MkdirAll(filepath.Join(rootfs, only), 0o755); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t)
	r := crun(t, "--plugins", "mnt,chroot,workdir", "--rootfs", rootfs, "-o", "workdir.path="+only, "run", "pwd")
	if r.Code != 0 || r.Stdout != only+"\n" {
		t.Errorf("exit %d, stdout %q, want %s: %s", r.Code, r.Stdout, only, r.Stderr)
	}
	nothingLeft(t, before)
}
