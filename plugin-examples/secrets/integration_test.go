package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// pluginName is the plugin the harness builds and installs.
const pluginName = "secrets"

// waitScript prints what the container sees, says ready and waits for
// its stdin to close, so the test can look from the host meanwhile.
const waitScript = `cat /run/secrets/db; echo; stat -c %a /run/secrets/db; echo ready; cat >/dev/null`

// background is a crun run the test looks at while it runs.
type background struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr string // a file: crun and the test both use it meanwhile
}

func startCrun(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	b := &background{cmd: crunCommand(ctx, args...), lines: make(chan string, 100),
		stderr: filepath.Join(t.TempDir(), "stderr")}
	errFile, err := os.Create(b.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	b.cmd.Stderr = errFile
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
		s := bufio.NewScanner(out)
		for s.Scan() {
			b.lines <- s.Text()
		}
		close(b.lines)
	}()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			b.cmd.Process.Kill()
			b.cmd.Wait()
		}
	})
	return b
}

func (b *background) errors() string {
	out, _ := os.ReadFile(b.stderr)
	return string(out)
}

// until returns the lines the container printed before want.
func (b *background) until(t *testing.T, want string) []string {
	t.Helper()
	var lines []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				t.Fatalf("crun ended before printing %q (it printed %q); stderr: %s", want, lines, b.errors())
			}
			if line == want {
				return lines
			}
			lines = append(lines, line)
		case <-timeout:
			t.Fatalf("timed out waiting for %q; stderr: %s", want, b.errors())
		}
	}
}

// wait ends the run by closing its stdin and returns crun's exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	b.stdin.Close()
	err := b.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// containerPid finds, in the host's /proc, the container's sh: the one
// whose last argument is marker. $$ inside would not do: with the pid
// plugin it is the pid in the container's namespace.
func containerPid(t *testing.T, marker string) string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		b, err := os.ReadFile(p + "/cmdline")
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if argv[0] == "sh" && argv[len(argv)-1] == marker {
			return filepath.Base(p)
		}
	}
	t.Fatalf("no process of the container (sh ... %s) in the host's /proc", marker)
	return ""
}

// environ reads a process's environment from the host, as anyone allowed
// to ptrace it can.
func environ(t *testing.T, pid string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		t.Fatalf("the environment of pid %s has no PATH (%q): not the container's?", pid, env)
	}
	return env
}

// hostMountsAt lists the host's mounts at dir or below it.
func hostMountsAt(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, line)
		}
	}
	return out
}

// keepHostDir removes dir at the end of the test if it did not exist
// before: without chroot, crun creates /run/secrets on the host as the
// tmpfs's mount point. It must stay empty: the secrets go into the
// tmpfs, never into the host's directory.
func keepHostDir(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Lstat(dir); err == nil {
		return
	}
	t.Cleanup(func() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		if len(entries) > 0 {
			t.Errorf("%s on the host is not empty after the run: %v", dir, entries)
			return
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove the mount point crun created: %v", err)
		}
	})
}

func hostDirEntries(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSecretStaysOutOfTheEnvironment: the container reads the secret
// from its tmpfs, while the host finds it neither in the container's
// environment nor in its own mount table.
func TestSecretStaysOutOfTheEnvironment(t *testing.T) {
	requireRoot(t)
	content := "s3cret-" + randomHex()
	file := writeSecret(t, "db", content)
	keepHostDir(t, "/run/secrets")
	before := snapshot(t)

	marker := "crun-secrets-test-" + randomHex()
	b := startCrun(t, "--plugins", "uts,pid,mnt,secrets", "-o", "secrets.db="+file, "run", "sh", "-c", waitScript, marker)
	if got := b.until(t, "ready"); !slices.Equal(got, []string{content, "400"}) {
		t.Errorf("the container printed %q, want the secret and its mode, 400", got)
	}

	pid := containerPid(t, marker)
	for _, kv := range environ(t, pid) {
		if strings.Contains(kv, content) {
			t.Errorf("the secret is in the container's environment, readable from the host: %q", kv)
		}
	}
	if m := hostMountsAt(t, "/run/secrets"); len(m) > 0 {
		t.Errorf("the secrets' tmpfs is in the host's mount table: %q", m)
	}
	if names := hostDirEntries("/run/secrets"); len(names) > 0 {
		t.Errorf("the host's /run/secrets holds %q: the secret landed on the host", names)
	}

	if code := b.wait(t); code != 0 {
		t.Errorf("exit %d: %s", code, b.errors())
	}
	if stderr := b.errors(); stderr != "" {
		t.Errorf("unexpected stderr: %s", stderr)
	}
	nothingLeft(t, before)
}

// TestEnvSecretIsVisibleOnTheHost is the contrast, the lesson of the
// talk: a secret passed with --env is in /proc/PID/environ for as long as
// the process runs, readable from the host.
func TestEnvSecretIsVisibleOnTheHost(t *testing.T) {
	requireRoot(t)
	content := "s3cret-" + randomHex()
	before := snapshot(t)

	marker := "crun-secrets-test-" + randomHex()
	b := startCrun(t, "--plugins", "uts,pid,mnt", "--env", "SECRET="+content, "run", "sh", "-c", "echo ready; cat >/dev/null", marker)
	b.until(t, "ready")
	if env := environ(t, containerPid(t, marker)); !slices.Contains(env, "SECRET="+content) {
		t.Errorf("SECRET=%s is not in the container's /proc/PID/environ, as seen from the host: %q", content, env)
	}
	if code := b.wait(t); code != 0 {
		t.Errorf("exit %d: %s", code, b.errors())
	}
	nothingLeft(t, before)
}

// TestPlanHoldsOnlyThePath: crun plan (and the plan sent to crun's init)
// names the file; the content is read by the init when the step runs.
func TestPlanHoldsOnlyThePath(t *testing.T) {
	requireRoot(t)
	content := "s3cret-" + randomHex()
	file := writeSecret(t, "db", content)
	before := snapshot(t)
	r := crun(t, "plan", "--json", "--plugins", "mnt,secrets", "-o", "secrets.db="+file, "--", "true")
	if r.Code != 0 {
		t.Fatalf("crun plan: exit %d: %s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stdout, `"source": "`+file+`"`) || !strings.Contains(r.Stdout, `"target": "/run/secrets/db"`) {
		t.Errorf("the plan does not copy %s to /run/secrets/db:\n%s", file, r.Stdout)
	}
	if strings.Contains(r.Stdout+r.Stderr, content) {
		t.Errorf("the secret's content is in the plan:\n%s", r.Stdout)
	}
	nothingLeft(t, before)
}

// TestSecretOption: -o secrets.NAME=FILE gives the file, once, and never
// in the environment. (crun has no flag of its own for a plugin it does
// not ship: --secret is refused.)
func TestSecretOption(t *testing.T) {
	requireRoot(t)
	content := "s3cret-" + randomHex()
	file := writeSecret(t, "db", content)
	before := snapshot(t)
	r := crun(t, "--plugins", "uts,pid,mnt,secrets", "-o", "secrets.db="+file, "run", "sh", "-c", "cat /run/secrets/db; env")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, content) || strings.Count(r.Stdout, content) != 1 {
		t.Errorf("-o secrets.db: exit %d, stdout %q, stderr %q; want the secret once, from the file, not in env", r.Code, r.Stdout, r.Stderr)
	}
	if r := crun(t, "--plugins", "uts,secrets", "--secret", "db="+file, "run", "true"); r.Code != 125 || !strings.Contains(r.Stderr, "unknown flag: --secret") {
		t.Errorf("--secret: exit %d, stderr %q", r.Code, r.Stderr)
	}
	nothingLeft(t, before)
}

// TestWithoutMnt shows what the warning says: the tmpfs is the host's
// while the container runs, and crun unmounts it at exit.
func TestWithoutMnt(t *testing.T) {
	requireRoot(t)
	content := "s3cret-" + randomHex()
	file := writeSecret(t, "db", content)
	keepHostDir(t, "/run/secrets")
	before := snapshot(t)

	b := startCrun(t, "--plugins", "secrets", "-o", "secrets.db="+file, "run", "sh", "-c", waitScript)
	if got := b.until(t, "ready"); !slices.Equal(got, []string{content, "400"}) {
		t.Errorf("the container printed %q, want the secret and its mode, 400", got)
	}
	if m := hostMountsAt(t, "/run/secrets"); len(m) != 1 {
		t.Errorf("without mnt the tmpfs should be in the host's mount table while the container runs: %q", m)
	}
	if code := b.wait(t); code != 0 {
		t.Errorf("exit %d: %s", code, b.errors())
	}
	if !strings.Contains(b.errors(), "crun: warning: secrets: without the mnt plugin") {
		t.Errorf("no warning about the missing mnt plugin: %s", b.errors())
	}
	nothingLeft(t, before)
}

// TestWithChroot: with chroot the tmpfs lands inside the rootfs, which
// crun tells the plugin (protocol 2's facts: no second -o for it), with
// pivot_root (mnt), with --read-only, and with chroot(2) (no mnt, the
// mounts are the host's until exit). The rootfs's /run/secrets, which
// crun makes as the mount point, is gone after the run.
func TestWithChroot(t *testing.T) {
	requireRoot(t)
	rootfs := testRootfs(t)
	content := "s3cret-" + randomHex()
	file := writeSecret(t, "db", content)
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"pivot_root", []string{"--plugins", "uts,pid,mnt,chroot,secrets"}},
		{"read-only", []string{"--plugins", "uts,pid,mnt,chroot,secrets", "--read-only"}},
		{"chroot(2) without mnt", []string{"--plugins", "uts,pid,chroot,secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without the mount point in the rootfs, crun must create it
			// before chroot's --read-only remount: the plugin runs first.
			if err := os.Remove(filepath.Join(rootfs, "run/secrets")); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			before := snapshot(t)
			args := append(tc.flags, "--rootfs", rootfs, "-o", "secrets.db="+file,
				"run", "sh", "-c", "cat /run/secrets/db; echo; stat -c %a /run/secrets/db")
			r := crun(t, args...)
			if r.Code != 0 || r.Stdout != content+"\n400\n" {
				t.Errorf("exit %d, stdout %q, want the secret and 400; stderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			if _, err := os.Stat(filepath.Join(rootfs, "run/secrets")); err == nil {
				t.Errorf("the rootfs's /run/secrets, which crun made, is still there after the run: %q", hostDirEntries(filepath.Join(rootfs, "run/secrets")))
			}
			nothingLeft(t, before)
		})
	}

	before := snapshot(t)
	r := crun(t, "--plugins", "mnt,chroot,secrets", "-o", "secrets.db="+file, "run", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, "rootfs") {
		t.Errorf("chroot without --rootfs: exit %d, stderr %q; want 125 and advice", r.Code, r.Stderr)
	}
	nothingLeft(t, before)
}

func TestRefusals(t *testing.T) {
	requireRoot(t)
	file := writeSecret(t, "db", "s3cret")
	before := snapshot(t)
	for _, tc := range []struct {
		opt, want string
	}{
		{"secrets.db=relative/file", "want an absolute path"},
		{"secrets.db=" + file + ".missing", "no such file"},
		{"secrets.db=" + filepath.Dir(file), "not a regular file"},
		{"secrets.db=", "no file"},
		// crun checks the key before the plugin sees it.
		{"secrets.Db=" + file, `takes keys of your choice, but "Db" is not one`},
	} {
		r := crun(t, "--plugins", "mnt,secrets", "-o", tc.opt, "run", "true")
		if r.Code != 125 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("-o %s: exit %d, stderr %q; want 125 and %q", tc.opt, r.Code, r.Stderr, tc.want)
		}
	}
	nothingLeft(t, before)
}

// testRootfs makes a busybox root file system with crun rootfs create,
// once for the test binary.
func testRootfs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testDir, "rootfs")
	if _, err := os.Stat(filepath.Join(dir, "bin")); err == nil {
		return dir
	}
	if out, err := exec.Command(crunBin, "rootfs", "create", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "" && strings.Contains(string(out), "busybox") {
			t.Skip("no static busybox (apt-get install busybox-static): " + string(out))
		}
		t.Fatalf("crun rootfs create: %v: %s", err, out)
	}
	return dir
}
