package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	fromCache = "plan from the cache: no plugin launched"
	planned   = "plan made by the plugins, cached for the next run"
)

// planSource runs crun with --trace and says where its plan came from.
func planSource(t *testing.T, args ...string) string {
	t.Helper()
	r := crun(t, append([]string{"--trace"}, args...)...)
	if r.code != 0 {
		t.Fatalf("crun %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	switch {
	case strings.Contains(r.stderr, fromCache):
		return "cache"
	case strings.Contains(r.stderr, planned):
		return "plugins"
	}
	return "uncached"
}

func uniqueHost(t *testing.T) string {
	return fmt.Sprintf("h%d", time.Now().UnixNano()%1e9)
}

func TestPlanCache(t *testing.T) {
	root := testRootfs(t)
	host := uniqueHost(t)
	run := func(extra ...string) []string {
		return append([]string{"--plugins", "uts,pid,mnt,chroot,cgroup", "--rootfs", root, "--hostname", host}, append(extra, "run", "/bin/true")...)
	}
	if got := planSource(t, run()...); got != "plugins" {
		t.Fatalf("first run: plan from %s", got)
	}
	if got := planSource(t, run()...); got != "cache" {
		t.Fatalf("repeated run: plan from %s, want the cache", got)
	}
	// A changed option is another plan.
	if got := planSource(t, run("--pids-max", "77")...); got != "plugins" {
		t.Errorf("changed option: plan from %s", got)
	}
	// --no-cache plans with the plugins.
	if got := planSource(t, run("--no-cache")...); got != "uncached" {
		t.Errorf("--no-cache: plan from %s", got)
	}
	// A cached plan carries the run's own container name.
	cat := []string{"--plugins", "uts,pid,mnt,chroot,cgroup", "--rootfs", root, "--hostname", host, "run", "/bin/cat", "/proc/self/cgroup"}
	planSource(t, cat...)
	r := crun(t, "--trace", "--name", "cached-name", "--plugins", "uts,pid,mnt,chroot,cgroup", "--rootfs", root, "--hostname", host,
		"run", "/bin/cat", "/proc/self/cgroup")
	if !strings.Contains(r.stderr, fromCache) || !strings.Contains(r.stdout, "pids:/crun/cached-name") {
		t.Errorf("cached plan with --name: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestPlanCacheFollowsTheRootfs(t *testing.T) {
	requireRoot(t)
	host := uniqueHost(t)
	a := t.TempDir()
	b := t.TempDir()
	args := func(root string) []string {
		return []string{"--plugins", "uts,mnt,chroot", "--rootfs", root, "--hostname", host, "-o", "chroot.dev=false", "run", "/probe"}
	}
	for _, dir := range []string{a, b} {
		probe, _ := os.ReadFile(probeBin)
		os.WriteFile(filepath.Join(dir, "probe"), probe, 0o755)
	}
	// The first run makes the mount points (/proc) in the new rootfs,
	// and removes them after: where the file system keeps no birth time,
	// that changes the directory's identity, and the second plans again.
	planSource(t, args(a)...)
	planSource(t, args(a)...)
	if got := planSource(t, args(a)...); got != "cache" {
		t.Fatalf("repeated: %s", got)
	}
	if got := planSource(t, args(b)...); got != "plugins" {
		t.Errorf("another rootfs path: plan from %s", got)
	}
	// The same path, but another directory: the chroot plugin depends on it.
	os.RemoveAll(a)
	os.Mkdir(a, 0o755)
	probe, _ := os.ReadFile(probeBin)
	os.WriteFile(filepath.Join(a, "probe"), probe, 0o755)
	if got := planSource(t, args(a)...); got != "plugins" {
		t.Errorf("a replaced rootfs directory: plan from %s", got)
	}
	// And a rootfs that is gone is an error again, not a cached plan.
	os.RemoveAll(a)
	r := crun(t, args(a)...)
	if r.code != 125 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("a removed rootfs: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestPlanCacheSaysWhy: a run that does not find its plan in the cache
// names, with --trace, the input that changed.
func TestPlanCacheSaysWhy(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	probe, _ := os.ReadFile(probeBin)
	os.WriteFile(filepath.Join(root, "probe"), probe, 0o755)
	src := filepath.Join(t.TempDir(), "config")
	os.WriteFile(src, []byte("one"), 0o644)
	args := func(host string) []string {
		return []string{"--trace", "--plugins", "uts,mnt,chroot", "--rootfs", root, "--bind", src + ":/config",
			"--hostname", host, "-o", "chroot.dev=false", "run", "/probe"}
	}
	why := func(host string) string {
		t.Helper()
		r := crun(t, args(host)...)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		for _, line := range strings.Split(r.stderr, "\n") {
			if _, after, ok := strings.Cut(line, "trace: plan not from the cache: "); ok {
				return after[:strings.LastIndex(after, " @")] // the time
			}
		}
		if !strings.Contains(r.stderr, fromCache) {
			t.Fatalf("neither from the cache nor why not: %q", r.stderr)
		}
		return ""
	}
	host := uniqueHost(t)
	// As in TestPlanCacheFollowsTheRootfs, the rootfs may change with the
	// mount points the first run makes.
	why(host)
	why(host)
	if got := why(host); got != "" {
		t.Fatalf("repeated: not from the cache: %s", got)
	}

	// The bind source, written again: the entry of these inputs is there,
	// made from another content.
	os.WriteFile(src, []byte("two"), 0o644)
	want := "changed since it was cached: depends " + src + " (its content)"
	if got := why(host); got != want {
		t.Errorf("a changed bind source: %q, want %q", got, want)
	}

	// Another hostname: no entry; the last run of these plugins says what
	// differs.
	got := why(host + "x")
	if !strings.HasPrefix(got, "changed since the last run of these plugins: ") ||
		!strings.Contains(got, "option uts.hostname") || strings.Contains(got, src) {
		t.Errorf("a changed hostname: %q", got)
	}

	// The rootfs replaced, and a third hostname: both named.
	os.RemoveAll(root)
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "probe"), probe, 0o755)
	got = why(host + "y")
	if !strings.Contains(got, "depends "+root+" (its identity)") || !strings.Contains(got, "option uts.hostname") {
		t.Errorf("a replaced rootfs and another hostname: %q", got)
	}
}

func TestPlanCacheFollowsBinaries(t *testing.T) {
	requireRoot(t)
	host := uniqueHost(t)
	dir, file := pluginCopy(t, "tmpfs", 0o755)
	target := filepath.Join(t.TempDir(), "m")
	args := []string{"--plugin-path", dir, "--plugins", "uts,mnt,tmpfs", "-o", "tmpfs.path=" + target, "--hostname", host, "run", "/bin/true"}
	planSource(t, args...)
	if got := planSource(t, args...); got != "cache" {
		t.Fatalf("repeated: %s", got)
	}
	// A changed plugin binary: rewritten (new times, same content).
	time.Sleep(10 * time.Millisecond)
	b, _ := os.ReadFile(file)
	os.Remove(file)
	os.WriteFile(file, b, 0o755)
	if got := planSource(t, args...); got != "plugins" {
		t.Errorf("changed plugin binary: plan from %s", got)
	}
	// A changed crun binary (here: another copy) plans again.
	other := t.TempDir()
	for _, name := range []string{"crun", "crun-plugins"} {
		b, _ := os.ReadFile(filepath.Join(testDir, name))
		os.WriteFile(filepath.Join(other, name), b, 0o755)
	}
	out, err := exec.Command(filepath.Join(other, "crun"), append([]string{"--trace"}, args...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), planned) {
		t.Errorf("another crun binary: %v %s", err, out)
	}
}

// newestCacheEntry returns the cache file written last.
func newestCacheEntry(t *testing.T) string {
	t.Helper()
	files, _ := filepath.Glob("/run/crun-go/cache/*.json")
	sort.Slice(files, func(i, j int) bool {
		a, _ := os.Stat(files[i])
		b, _ := os.Stat(files[j])
		return a.ModTime().After(b.ModTime())
	})
	if len(files) == 0 {
		t.Fatal("no cache entry")
	}
	return files[0]
}

func TestCorruptCacheEntryIsRewritten(t *testing.T) {
	requireRoot(t)
	args := []string{"--plugins", "uts,pid,mnt", "--hostname", uniqueHost(t), "run", "/bin/true"}
	planSource(t, args...)
	entry := newestCacheEntry(t)
	for _, corrupt := range []func(){
		func() { b, _ := os.ReadFile(entry); os.WriteFile(entry, b[:len(b)/2], 0o600) }, // truncated
		func() { os.WriteFile(entry, []byte("not json"), 0o600) },
		func() {
			os.WriteFile(entry, []byte(`{"format":1,"plan":{"format_version":1,"command":["x"]},"fingerprints":{"/":"wrong"}}`), 0o600)
		},
		func() { // a good header, a broken body
			b, _ := os.ReadFile(entry)
			head, _, _ := strings.Cut(string(b), "\n")
			os.WriteFile(entry, []byte(head+"\n{}\n{\n"), 0o600)
		},
	} {
		corrupt()
		if got := planSource(t, args...); got != "plugins" {
			t.Errorf("after corrupting the entry: plan from %s", got)
		}
		if b, err := os.ReadFile(entry); err != nil || !wholeCacheEntry(b) {
			t.Errorf("the entry was not rewritten: %v %q", err, b)
		}
		if got := planSource(t, args...); got != "cache" {
			t.Errorf("after rewriting: plan from %s", got)
		}
	}
}

// wholeCacheEntry tells whether b is an entry as crun writes it: a
// header line, a line of JSON and the plan in base64.
func wholeCacheEntry(b []byte) bool {
	lines := strings.Split(string(b), "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] != "crun-plan-cache 6" {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(lines[2])
	return json.Valid([]byte(lines[1])) && err == nil
}

func TestConcurrentRunsShareTheCache(t *testing.T) {
	requireRoot(t)
	args := []string{"--plugins", "uts,pid,mnt,cgroup", "--hostname", uniqueHost(t), "run", "/bin/true"}
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := crun(t, args...)
			if r.code != 0 {
				errs <- r.stderr
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a concurrent run failed: %s", e)
	}
	if got := planSource(t, args...); got != "cache" {
		t.Errorf("after concurrent runs: plan from %s", got)
	}
	if tmps, _ := filepath.Glob("/run/crun-go/cache/*.tmp-*"); len(tmps) > 0 {
		t.Errorf("temporary cache files left: %v", tmps)
	}
}
