package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real crun binary, built once in TestMain, and ask
// the kernel what the container and the host see. Tests that need root
// skip without it, except under CI, where a missing privilege fails.

var (
	crunBin   string // the crun binary under test
	pluginDir string // test plugins, as crun-plugin-NAME
	probeBin  string // reports what a container sees (testdata/probe)
	testDir   string
)

// testPlugins are the names the testkit binary is installed under.
var testPlugins = []string{"tmpfs", "latetmpfs", "crash", "nostep", "needsnet", "exitstart", "garbage", "hang", "future", "slow", "stuck", "exithook"}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	var err error
	testDir, err = os.MkdirTemp("", "crun-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(testDir)
	// Others may go through it (not list it): the ordinary user of the
	// rootless tests runs the binaries in it, and a container's root in
	// a user namespace, an ordinary host user too, reaches its rootfs.
	if err := os.Chmod(testDir, 0o711); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crunBin = filepath.Join(testDir, "crun")
	pluginDir = filepath.Join(testDir, "plugins")
	testkit := filepath.Join(testDir, "testkit")
	probeBin = filepath.Join(testDir, "probe")
	if err := os.Mkdir(pluginDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	frozen := filepath.Join(pluginDir, "crun-plugin-frozen")
	host := filepath.Join(testDir, "crun-plugins")
	for _, b := range [][]string{{crunBin, "."}, {host, "../crun-plugins"}, {testkit, "./testdata/testkit"}, {probeBin, "./testdata/probe"}, {frozen, "./testdata/frozen-v1"}} {
		build := exec.Command("go", "build", "-o", b[0], b[1])
		// Static, so the probe runs in any root file system.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b[1], err, out)
			return 1
		}
	}
	for _, name := range testPlugins {
		if err := os.Link(testkit, filepath.Join(pluginDir, "crun-plugin-"+name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// requireRoot skips a test that needs root, or fails it under CI.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root, and CI is set: run the tests as root")
	}
	t.Skip("needs root (namespaces, mounts): run the tests as root to include it")
}

type result struct {
	stdout, stderr string
	code           int
}

// crunCmd prepares crun with the test plugins on its plugin path.
func crunCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, crunBin, args...)
	cmd.Env = append(os.Environ(), "CRUN_PLUGIN_PATH="+pluginDir)
	return cmd
}

// crun runs crun to completion.
func crun(t *testing.T, args ...string) result {
	t.Helper()
	return runToEnd(t, func(ctx context.Context) *exec.Cmd { return crunCmd(ctx, args...) })
}

// runToEnd runs the command prepare makes (within a minute) and returns
// what it printed and its exit code.
func runToEnd(t *testing.T, prepare func(context.Context) *exec.Cmd) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := prepare(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// hostState is what a run could leave behind on the host.
type hostState struct {
	mounts      []string
	runtimeDirs []string
	stateFiles  []string
	cgroups     []string
	processes   []string
	hostname    string
}

func snapshot(t *testing.T) hostState {
	t.Helper()
	var s hostState
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(line)
		s.mounts = append(s.mounts, f[4]+" "+f[len(f)-3])
	}
	sort.Strings(s.mounts)
	s.runtimeDirs, _ = filepath.Glob("/run/crun-go/run-*")
	s.stateFiles, _ = filepath.Glob("/run/crun-go/state/*.json")
	covered, _ := filepath.Glob("/run/crun-go/state/covered/*")
	s.stateFiles = append(s.stateFiles, covered...)
	s.cgroups = crunCgroups()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, err := os.Readlink(p + "/exe")
		if err == nil && strings.HasPrefix(exe, testDir) {
			s.processes = append(s.processes, p+" "+exe)
		}
	}
	s.hostname, _ = os.Hostname()
	return s
}

// crunCgroups lists the container cgroups below every hierarchy: the
// directories inside a "crun" parent or a test's own parent.
func crunCgroups() []string {
	var out []string
	for _, pattern := range []string{"/sys/fs/cgroup/*/crun/*", "/sys/fs/cgroup/*/crun-test-*/*", "/sys/fs/cgroup/crun/*"} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

// assertNothingLeft compares the host after a run with before it.
func assertNothingLeft(t *testing.T, before hostState) {
	t.Helper()
	// Processes may take a moment to be reaped after crun returns.
	var after hostState
	for i := 0; i < 50; i++ {
		after = snapshot(t)
		if len(after.processes) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := diff(before.mounts, after.mounts); d != "" {
		t.Errorf("mounts left on the host:\n%s", d)
	}
	// A stale directory of an earlier, killed crun may be swept meanwhile:
	// only new ones count.
	if d := added(before.runtimeDirs, after.runtimeDirs); d != "" {
		t.Errorf("runtime directories (plugin sockets) left:\n%s", d)
	}
	if d := added(before.stateFiles, after.stateFiles); d != "" {
		t.Errorf("state files left:\n%s", d)
	}
	if d := added(before.cgroups, after.cgroups); d != "" {
		t.Errorf("cgroups left:\n%s", d)
	}
	if len(after.processes) > 0 {
		t.Errorf("processes left: %v", after.processes)
	}
	if after.hostname != before.hostname {
		t.Errorf("host's hostname changed from %q to %q", before.hostname, after.hostname)
	}
}

// added lists what after has that before had not.
func added(before, after []string) string {
	var out []string
	for _, line := range strings.Split(diff(before, after), "\n") {
		if strings.HasPrefix(line, "+ ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func diff(before, after []string) string {
	count := map[string]int{}
	for _, s := range before {
		count[s]--
	}
	for _, s := range after {
		count[s]++
	}
	var out []string
	for s, n := range count {
		switch {
		case n > 0:
			out = append(out, "+ "+s)
		case n < 0:
			out = append(out, "- "+s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// background is a crun run the test talks to while it runs: the container
// prints a line when it is ready, then waits for its stdin to close.
type background struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	lines  chan string
}

func startCrun(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	b := &background{cmd: crunCmd(ctx, args...), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, lines: make(chan string, 100)}
	b.cmd.Stderr = b.stderr
	var err error
	if b.stdin, err = b.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		var line []byte
		for {
			n, err := out.Read(buf)
			for _, c := range buf[:n] {
				b.stdout.WriteByte(c)
				if c == '\n' {
					b.lines <- string(line)
					line = nil
				} else {
					line = append(line, c)
				}
			}
			if err != nil {
				close(b.lines)
				return
			}
		}
	}()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			b.cmd.Process.Kill()
			go b.cmd.Wait() // reap; a leftover may hold the pipes
		}
	})
	return b
}

// waitLine waits for the container to print want.
func (b *background) waitLine(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				t.Fatalf("crun ended before printing %q; stderr: %s", want, b.stderr)
			}
			if line == want {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %q; stderr: %s", want, b.stderr)
		}
	}
}

// wait ends the run and returns crun's exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	b.stdin.Close()
	err := b.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// killCrun SIGKILLs crun and waits for it alone: what it leaves behind
// (processes still holding its stdout, say) is for the test to find.
func (b *background) killCrun(t *testing.T) {
	t.Helper()
	b.signal(t, syscall.SIGKILL)
	if _, err := b.cmd.Process.Wait(); err != nil {
		t.Fatal(err)
	}
}

func (b *background) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func hostMountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
