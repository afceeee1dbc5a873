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
	if r.code != 0 {
		t.Fatalf("crun plugins: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"workdir " + version + " (" + filepath.Join(pluginDir, "crun-plugin-workdir") + ")",
		`-o workdir.path=STRING, default "/"`,
		"runs after:  chroot",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("crun plugins does not show %q:\n%s", want, r.stdout)
		}
	}
	nothingLeft(t, before)
}

func TestRunStartsInTheDirectory(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	// /bin/pwd asks the kernel (getcwd); echo shows the environment.
	r := crun(t, "--plugins", "workdir", "-o", "workdir.path=/usr/share/", "run", "sh", "-c", `/bin/pwd; echo "PWD=$PWD"`)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := "/usr/share\nPWD=/usr/share\n"; r.stdout != want {
		t.Errorf("got %q, want %q", r.stdout, want)
	}
	if r.stderr != "" {
		t.Errorf("unexpected stderr: %s", r.stderr)
	}
	nothingLeft(t, before)
}

func TestRelativePathWarns(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "workdir", "-o", "workdir.path=usr", "run", "/bin/pwd")
	if r.code != 0 || r.stdout != "/usr\n" {
		t.Fatalf("exit %d, stdout %q, want /usr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `crun: warning: workdir: path "usr" is relative`) {
		t.Errorf("no warning about the relative path: %s", r.stderr)
	}
	nothingLeft(t, before)
}

func TestBadPathIsRefused(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "workdir", "-o", "workdir.path=", "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, `plugin "workdir"`) || !strings.Contains(r.stderr, "option path is empty") {
		t.Errorf("exit %d, stderr %q: want 125 and the plugin's message", r.code, r.stderr)
	}
	// A directory that does not exist is the kernel's to refuse, when
	// crun's init runs the step.
	r = crun(t, "--plugins", "workdir", "-o", "workdir.path=/nonexistent/crun-example", "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "chdir") {
		t.Errorf("exit %d, stderr %q: want 125 and the failed chdir", r.code, r.stderr)
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
	if r.code != 0 || r.stdout != only+"\n" {
		t.Errorf("exit %d, stdout %q, want %s: %s", r.code, r.stdout, only, r.stderr)
	}
	nothingLeft(t, before)
}
