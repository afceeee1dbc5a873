package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const prestarted = "crun init prestarted, from the hint of the last run of this command line"

// hintFiles lists the command-line hints in the plan cache.
func hintFiles() []string {
	files, _ := filepath.Glob("/run/crun-go/cache/hint-*")
	return files
}

// newHint runs args and returns the hint file that run left.
func newHint(t *testing.T, args ...string) string {
	t.Helper()
	before := map[string]bool{}
	for _, f := range hintFiles() {
		before[f] = true
	}
	if r := crun(t, args...); r.code != 0 {
		t.Fatalf("crun %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	for _, f := range hintFiles() {
		if !before[f] {
			return f
		}
	}
	t.Fatalf("crun %v left no hint", args)
	return ""
}

// TestPrestartFromHint: the second run of a command line starts crun's
// init before parsing it, and the container is the same.
func TestPrestartFromHint(t *testing.T) {
	requireRoot(t)
	host := uniqueHost(t)
	args := []string{"--trace", "--plugins", "uts,pid,mnt", "--hostname", host, "run", "sh", "-c", "hostname; echo $$"}
	hint := newHint(t, args...)
	if b, _ := os.ReadFile(hint); string(b) != "crun-plan-cache 3 namespaces=mnt,uts,pid clone-into-cgroup=no\n" {
		t.Errorf("hint %q", b)
	}
	r := crun(t, args...)
	if r.code != 0 || r.stdout != host+"\n1\n" || !strings.Contains(r.stderr, prestarted) {
		t.Errorf("second run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestHintThatLies: a hint is a guess; a wrong one costs the prestarted
// init its life, not the container its namespaces, and is rewritten.
func TestHintThatLies(t *testing.T) {
	requireRoot(t)
	args := []string{"--trace", "--plugins", "uts,pid,mnt", "--hostname", uniqueHost(t), "run", "readlink", "/proc/self/ns/net"}
	hint := newHint(t, args...)
	if err := os.WriteFile(hint, []byte("crun-plan-cache 3 namespaces=net clone-into-cgroup=no\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	r := crun(t, args...)
	if r.code != 0 || strings.TrimSpace(r.stdout) != hostNet {
		t.Errorf("after a lying hint: exit %d, net namespace %q (the host's: %q), stderr %q", r.code, r.stdout, hostNet, r.stderr)
	}
	if !strings.Contains(r.stderr, prestarted) || !strings.Contains(r.stderr, "crun init, started early, discarded") {
		t.Errorf("the prestarted init was not discarded: %q", r.stderr)
	}
	if b, _ := os.ReadFile(hint); !strings.Contains(string(b), "namespaces=mnt,uts,pid ") {
		t.Errorf("the hint was not rewritten: %q", b)
	}
}

// TestPrestartedInitKilledWhenPlanningFails: the prestarted init must go
// when the run fails before it has a plan (here: the rootfs of the hint's
// run is gone), and nothing may be left.
func TestPrestartedInitKilledWhenPlanningFails(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	if r := crun(t, "rootfs", "create", root); r.code != 0 {
		t.Fatalf("rootfs create: %s", r.stderr)
	}
	args := []string{"--trace", "--plugins", "uts,pid,mnt,chroot", "--rootfs", root, "--hostname", uniqueHost(t), "run", "/bin/true"}
	newHint(t, args...)
	os.RemoveAll(root)
	r := crun(t, args...)
	if r.code != 125 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("a removed rootfs: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, prestarted) || !strings.Contains(r.stderr, "crun init, started early, discarded") {
		t.Errorf("the prestarted init was not discarded: %q", r.stderr)
	}
	assertNothingLeft(t, before)
}
