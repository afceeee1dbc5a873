package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
)

func TestPlainForkExec(t *testing.T) {
	// No plugins: the talk's first demo, which needs no privilege.
	r := crun(t, "run", "echo", "hello")
	if r.code != 0 || r.stdout != "hello\n" {
		t.Fatalf("crun run echo hello = %d %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestHostname(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "uts", "run", "hostname")
	if r.code != 0 || r.stdout != "container\n" {
		t.Fatalf("hostname inside = %q (exit %d, stderr %q), want container", r.stdout, r.code, r.stderr)
	}
	// --hostname after the command word, and -o, work the same.
	r = crun(t, "run", "--plugins=uts", "--hostname", "box", "--", "hostname")
	if r.stdout != "box\n" {
		t.Fatalf("--hostname box: hostname inside = %q, stderr %q", r.stdout, r.stderr)
	}
	r = crun(t, "-p", "uts", "-o", "uts.hostname=opt", "run", "hostname")
	if r.stdout != "opt\n" {
		t.Fatalf("-o uts.hostname=opt: hostname inside = %q, stderr %q", r.stdout, r.stderr)
	}
	r = crun(t, "-p", "uts", "run", "sh", "-c", "echo $HOSTNAME")
	if r.stdout != "container\n" {
		t.Fatalf("$HOSTNAME inside = %q", r.stdout)
	}
	assertNothingLeft(t, before) // includes the host's hostname
}

func TestPIDAndProc(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "uts,pid,mnt", "run", "sh", "-c",
		`echo pid=$$; for p in /proc/[0-9]*; do echo proc=${p#/proc/}; done`)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var procs []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if p, ok := strings.CutPrefix(line, "proc="); ok {
			procs = append(procs, p)
		}
	}
	if !strings.HasPrefix(r.stdout, "pid=1\n") {
		t.Errorf("the command's pid inside = %q, want 1", strings.SplitN(r.stdout, "\n", 2)[0])
	}
	// Only the shell itself (PID 1): the loop is a builtin.
	if !reflect.DeepEqual(procs, []string{"1"}) {
		t.Errorf("/proc inside lists %v, want only [1]", procs)
	}
	assertNothingLeft(t, before) // the host's /proc mount is untouched
}

func TestPIDWithoutMntWarns(t *testing.T) {
	requireRoot(t)
	r := crun(t, "--plugins", "pid", "run", "sh", "-c", `echo $$; ls /proc | grep -c '^[0-9]'`)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning: pid: without the mnt plugin /proc is still the host's") {
		t.Errorf("no warning about /proc; stderr %q", r.stderr)
	}
	lines := strings.Fields(r.stdout)
	if len(lines) != 2 || lines[0] != "1" {
		t.Fatalf("output %q", r.stdout)
	}
	// The talk's lesson: the host's processes are still listed.
	if n, _ := strconv.Atoi(lines[1]); n < 5 {
		t.Errorf("only %d processes in the host's /proc seen from inside; expected the host's", n)
	}
}

// TestMountNamespace is the talk's /mnt/container_mnt demo: a tmpfs
// mounted in the container is on the host's mount table without a mount
// namespace, not with one, and gone after exit in both cases.
func TestMountNamespace(t *testing.T) {
	requireRoot(t)
	for _, withMnt := range []bool{false, true} {
		name := map[bool]string{false: "without mnt", true: "with mnt"}[withMnt]
		t.Run(name, func(t *testing.T) {
			before := snapshot(t)
			target := filepath.Join(t.TempDir(), "container_mnt")
			plugins := "uts,tmpfs"
			if withMnt {
				plugins = "uts,mnt,tmpfs"
			}
			b := startCrun(t, "--plugins", plugins, "-o", "tmpfs.path="+target, "run", "sh", "-c",
				`grep -q " `+target+` " /proc/self/mountinfo && echo mounted-inside; echo ready; cat >/dev/null`)
			b.waitLine(t, "mounted-inside")
			b.waitLine(t, "ready")
			onHost := strings.Contains(hostMountinfo(t), " "+target+" ")
			if onHost != !withMnt {
				t.Errorf("tmpfs at %s on the host's mount table while running: %v, want %v", target, onHost, !withMnt)
			}
			if code := b.wait(t); code != 0 {
				t.Fatalf("exit %d, stderr %s", code, b.stderr)
			}
			if strings.Contains(hostMountinfo(t), " "+target+" ") {
				t.Errorf("tmpfs at %s still mounted on the host after exit", target)
			}
			// The mount point did not exist: crun made it, and removes it.
			if _, err := os.Stat(target); err == nil {
				t.Errorf("the mount point %s crun made is still there after exit", target)
			}
			assertNothingLeft(t, before)
		})
	}
}

func TestExitCodes(t *testing.T) {
	requireRoot(t)
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command []string
		want    int
		stderr  string
	}{
		{"own status", []string{"sh", "-c", "exit 7"}, 7, ""},
		// A PID namespace's init cannot be SIGKILLed from inside, so
		// this one runs without pid: crun sees the death by signal itself.
		{"killed by SIGKILL", []string{"sh", "-c", "kill -9 $$"}, 137, ""},
		{"not executable", []string{notExec}, 126, "permission denied"},
		{"not found", []string{"no-such-command-crun"}, 127, "command not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t)
			plugins := "uts,pid,mnt"
			if tt.want == 137 {
				plugins = "uts,mnt"
			}
			args := append([]string{"--plugins", plugins, "run", "--"}, tt.command...)
			r := crun(t, args...)
			if r.code != tt.want {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.want, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to say %q", r.stderr, tt.stderr)
			}
			assertNothingLeft(t, before)
		})
	}
}

func TestSignalsReachTheContainer(t *testing.T) {
	requireRoot(t)
	t.Run("SIGTERM to a PID 1 with a handler", func(t *testing.T) {
		before := snapshot(t)
		b := startCrun(t, "--plugins", "uts,pid,mnt", "run", "sh", "-c",
			`trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
		b.waitLine(t, "ready")
		b.signal(t, syscall.SIGTERM)
		b.waitLine(t, "got-term")
		if code := b.wait(t); code != 42 {
			t.Errorf("exit %d, want the container's 42; stderr %s", code, b.stderr)
		}
		assertNothingLeft(t, before)
	})
	t.Run("pid.init forwards SIGTERM to a command without a handler", func(t *testing.T) {
		before := snapshot(t)
		b := startCrun(t, "--plugins", "uts,pid,mnt", "-o", "pid.init=true", "run", "sh", "-c",
			`[ $$ != 1 ] && echo not-pid-1; [ "$(cat /proc/1/comm)" = crun-init ] && echo init-is-pid-1; echo ready; exec sleep 60`)
		b.waitLine(t, "not-pid-1")
		b.waitLine(t, "init-is-pid-1")
		b.waitLine(t, "ready")
		b.signal(t, syscall.SIGTERM)
		if code := b.wait(t); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit %d, want 143; stderr %s", code, b.stderr)
		}
		assertNothingLeft(t, before)
	})
	t.Run("SIGTERM kills a command without a handler", func(t *testing.T) {
		before := snapshot(t)
		// Without a PID namespace the command is not an init, so the
		// default action (terminate) applies.
		b := startCrun(t, "--plugins", "uts,mnt", "run", "sh", "-c", `echo ready; exec sleep 60`)
		b.waitLine(t, "ready")
		b.signal(t, syscall.SIGTERM)
		if code := b.wait(t); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit %d, want 143; stderr %s", code, b.stderr)
		}
		assertNothingLeft(t, before)
	})
}

func TestContractBreakersAreRefusedBeforeClone(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		plugins string
		want    string
	}{
		{"uts,nostep", `plugin "nostep" returned an invalid contribution: step 1: no action crun knows`},
		{"uts,needsnet", `plugin "needsnet": step chdir needs the net namespace, which no enabled plugin provides`},
	}
	for _, tt := range tests {
		t.Run(tt.plugins, func(t *testing.T) {
			before := snapshot(t)
			marker := filepath.Join(t.TempDir(), "ran")
			r := crun(t, "--plugins", tt.plugins, "run", "touch", marker)
			if r.code != 125 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 125 and %q", r.code, r.stderr, tt.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the command ran although the plan was refused")
			}
			assertNothingLeft(t, before)
		})
	}
}

func TestCrashingPlugin(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "uts,pid,mnt,crash", "run", "true")
	if r.code != 125 {
		t.Errorf("exit %d, want 125", r.code)
	}
	for _, want := range []string{`plugin "crash"`, "contribute", "panics in Contribute"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q does not say %q", r.stderr, want)
		}
	}
	assertNothingLeft(t, before)
}

func TestPlanJSON(t *testing.T) {
	args := []string{"plan", "--json", "--name", "fixed", "--plugins", "uts,pid,mnt", "--", "sh", "-c", "true"}
	first := crun(t, args...)
	if first.code != 0 {
		t.Fatalf("exit %d, stderr %q", first.code, first.stderr)
	}
	second := crun(t, args...)
	if first.stdout != second.stdout {
		t.Errorf("plan --json differs between two identical calls:\n%s\n%s", first.stdout, second.stdout)
	}
	p, err := plan.Decode([]byte(first.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.CloneFlags, "|"); got != "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWPID" {
		t.Errorf("clone flags %s", got)
	}
	var order []string
	for _, s := range p.Steps {
		order = append(order, s.Plugin+":"+string(s.Phase))
	}
	if got := strings.Join(order, " "); got != "mnt:prepare pid:mount uts:configure" {
		t.Errorf("step order %s", got)
	}
	// And the JSON is what the Go type says, nothing more.
	var raw map[string]any
	if err := json.Unmarshal([]byte(first.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["container_id"] != "fixed" || raw["format_version"] != float64(1) {
		t.Errorf("container_id %v, format_version %v", raw["container_id"], raw["format_version"])
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--plugins", "nosuch", "run", "true"}, `unknown plugin "nosuch"`},
		{[]string{"--plugins", "uts", "-o", "uts.nosuch=1", "run", "true"}, `plugin "uts" has no option "nosuch" (it accepts options hostname)`},
		{[]string{"--plugins", "pid", "--hostname", "x", "run", "true"}, `--hostname: plugin "uts" is not enabled: add it to --plugins`},
		{[]string{"-o", "bad", "run", "true"}, "want PLUGIN.KEY=VALUE"},
		{[]string{"run"}, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--nosuchflag", "run", "true"}, "unknown flag: --nosuchflag"},
		{[]string{"--plugins", "uts,uts", "run", "true"}, `listed twice`},
		{[]string{"--plugins", "uts"}, "no command: use run, plan"},
	}
	for _, tt := range tests {
		r := crun(t, tt.args...)
		if r.code != 125 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("crun %v: exit %d, stderr %q; want 125 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

func TestEnvironmentIsClean(t *testing.T) {
	t.Setenv("CRUN_TEST_SECRET", "horsecarbatterystaple")
	r := crun(t, "run", "--env", "A=1", "--", "env")
	if strings.Contains(r.stdout, "horsecarbatterystaple") {
		t.Errorf("the host's environment leaked into the container: %q", r.stdout)
	}
	for _, want := range []string{"A=1\n", "PATH=", "HOME=/root\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("env inside %q lacks %q", r.stdout, want)
		}
	}
	r = crun(t, "run", "--host-env", "--", "env")
	if !strings.Contains(r.stdout, "CRUN_TEST_SECRET=horsecarbatterystaple") {
		t.Errorf("--host-env did not pass the host's environment")
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"run", "--help"}} {
		r := crun(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "crun [flags] run [flags] [--] COMMAND") {
			t.Errorf("crun %v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	r := crun(t, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "plugin protocols 1 to 2") || !strings.Contains(r.stdout, "not the OCI runtime crun written in C") {
		t.Errorf("crun version: %q", r.stdout)
	}
}

// TestInitIsCrunItself: with pid.init, PID 1 is the copy of crun that
// ran the steps (there is no other init program), named crun-init.
func TestInitIsNotCrunsBinary(t *testing.T) {
	requireRoot(t)
	binary, err := os.ReadFile(crunBin)
	if err != nil {
		t.Fatal(err)
	}
	// Root with every capability (no caps plugin) reaches PID 1's exe,
	// and tries to write through it.
	attempt := `readlink /proc/1/exe; cat /proc/1/comm; echo x >> /proc/1/exe || echo refused; echo ready; read line || true`
	b := startCrun(t, "--plugins", "pid,mnt", "-o", "pid.init=true", "run", "sh", "-c", attempt)
	b.waitLine(t, "ready")
	// The host's view: crun's child, the init, runs from a binary the
	// kernel lets nobody write to.
	// (Each thread lists the children it cloned.)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", b.cmd.Process.Pid))
	var children []string
	for _, task := range tasks {
		list, _ := os.ReadFile(task)
		children = append(children, strings.Fields(string(list))...)
	}
	if len(children) != 1 {
		t.Fatalf("crun's children: %q", children)
	}
	exe := "/proc/" + children[0] + "/exe"
	if f, err := os.OpenFile(exe, os.O_WRONLY, 0); err == nil || !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.ETXTBSY) {
		t.Errorf("open %s for writing: %v, want EROFS or ETXTBSY", exe, err)
		if f != nil {
			f.Close()
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(exe, &st); err != nil || st.Flags&unix.ST_RDONLY == 0 {
		if seals, err := sealsOf(exe); err != nil || seals&unix.F_SEAL_WRITE == 0 {
			t.Errorf("the init's binary is neither on a read-only mount (flags %#x) nor sealed (%v)", st.Flags, err)
		}
	}
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, b.stderr)
	}
	lines := strings.Split(b.stdout.String(), "\n")
	if len(lines) < 3 || lines[0] == crunBin || lines[1] != "crun-init" || lines[2] != "refused" {
		t.Errorf("in the container: %q, want a binary other than %s, crun-init, refused; stderr %q", lines, crunBin, b.stderr)
	}
	if after, err := os.ReadFile(crunBin); err != nil || !bytes.Equal(after, binary) {
		t.Errorf("crun's binary changed: %v", err)
	}
	// Without an init of crun's in the container, crun runs from its
	// binary as started.
	r := crun(t, "--plugins", "pid,mnt", "run", "sh", "-c", "readlink /proc/1/exe")
	if r.code != 0 || r.stdout == crunBin+"\n" {
		t.Errorf("without pid.init: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// sealsOf returns a memfd's seals.
func sealsOf(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
}

// TestOpenFileLimit: the Go runtime raises crun's soft limit on open
// files for itself, to the hard limit less one, and keeps the one it
// found where crun cannot read it. The container then gets Linux's
// default (1024); a limit Go left alone (soft at the hard limit) it gets
// as it is. With or without crun's init as PID 1.
func TestOpenFileLimit(t *testing.T) {
	requireRoot(t)
	for _, init := range []string{"false", "true"} {
		for limit, want := range map[string]string{"1024:4096": "1024 4096", "4096:4096": "4096 4096", "100:100": "100 100"} {
			cmd := exec.Command("prlimit", "--nofile="+limit, crunBin, "--plugins", "uts,pid,mnt",
				"-o", "pid.init="+init, "run", "sh", "-c", "echo $(ulimit -n) $(ulimit -Hn)")
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("pid.init=%s, crun started with %s: %v, limits %q, want %s", init, limit, err, out, want)
			}
		}
	}
}

// TestSignalWhileAStepHangs: a step that never returns (here it reads a
// FIFO nobody writes to) does not make crun deaf. A SIGTERM during the
// setup is kept for the command for a while, at most --stop-timeout;
// then crun gives up, kills the child and cleans up: the run ends within
// --stop-timeout and a second. With crun's init as PID 1 or not.
func TestSignalWhileAStepHangs(t *testing.T) {
	requireRoot(t)
	for _, init := range []string{"false", "true"} {
		t.Run("pid.init="+init, func(t *testing.T) {
			before := snapshot(t)
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			b := startCrun(t, "--plugin-path", pluginDir, "--plugins", "uts,pid,mnt,stuck", "-o", "stuck.fifo="+fifo,
				"-o", "pid.init="+init, "--stop-timeout", "1s", "run", "true")
			time.Sleep(500 * time.Millisecond) // the step is waiting for a writer
			b.signal(t, syscall.SIGTERM)
			start := time.Now()
			code := b.wait(t)
			took := time.Since(start)
			if code != 143 || !strings.Contains(b.stderr.String(), "interrupted by SIGTERM during setup") {
				t.Errorf("exit %d after %v, stderr %q", code, took, b.stderr)
			}
			if took > 2*time.Second {
				t.Errorf("crun took %v to end after SIGTERM, more than --stop-timeout (1s) and a second", took)
			}
			assertNothingLeft(t, before)
		})
	}
}

// TestCrashingChild: a crun built with the crun_crashtest tag makes the
// child fault on purpose (a nil pointer) when it is to set the hostname
// "crun-crash-test". The run ends with 125 and says what happened;
// crun neither hangs nor leaves anything behind.
func TestCrashingChild(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	crashing := filepath.Join(dir, "crun")
	for _, b := range [][]string{{crashing, "-tags", "crun_crashtest", "."}, {filepath.Join(dir, "crun-plugins"), "../crun-plugins"}} {
		build := exec.Command("go", append([]string{"build", "-o"}, b...)...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b[0], err, out)
		}
	}
	before := snapshot(t)
	cmd := exec.Command(crashing, "--plugins", "uts,pid,mnt,cgroup", "--hostname", "crun-crash-test", "run", "echo", "ran")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("crun hangs after its child crashed")
	}
	if code := cmd.ProcessState.ExitCode(); code != 125 || stdout.String() != "" ||
		!strings.Contains(stderr.String(), "the container's first process died of SIGSEGV while crun prepared it") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	assertNothingLeft(t, before)
	// The same crun with another hostname runs as usual.
	out, err := exec.Command(crashing, "--plugins", "uts,pid,mnt", "--hostname", "fine", "run", "hostname").CombinedOutput()
	if err != nil || string(out) != "fine\n" {
		t.Errorf("without the trigger: %v %q", err, out)
	}
}

// TestPlanDiff: plan --diff shows what a plugin adds (+) or takes away
// (-), for one container id on both sides, and nothing for equal sets.
func TestPlanDiff(t *testing.T) {
	requireRoot(t)
	r := crun(t, "plan", "--name", "diffed", "--plugins", "uts,pid,mnt,cgroup", "--pids-max", "7", "--diff", "uts,pid,mnt", "--", "sh")
	want := []string{
		"--plugins uts,pid,mnt,cgroup against --plugins uts,pid,mnt (container diffed on both sides):",
		"host steps:",
		"+ [before-clone] cgroup: mkdir -p /sys/fs/cgroup/",
		`+ [before-clone] cgroup: write "7" to /sys/fs/cgroup/`,
		"child steps:",
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("no %q in:\n%s", w, r.stdout)
		}
	}
	if r.code != 0 || strings.Contains(r.stdout, "\n- ") || strings.Contains(r.stdout, "clone flags:") || !strings.Contains(r.stdout, "/diffed") {
		t.Errorf("exit %d, stdout:\n%s\nstderr %q", r.code, r.stdout, r.stderr)
	}
	// The other way round: only what cgroup did, taken away.
	r = crun(t, "plan", "--plugins", "uts", "--diff", "uts,pid", "--", "sh")
	if r.code != 0 || !strings.Contains(r.stdout, "clone flags:\n- CLONE_NEWPID\n") || strings.Contains(r.stdout, "\n+ ") {
		t.Errorf("uts against uts,pid: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = crun(t, "plan", "--plugins", "uts,pid", "--diff", "uts,pid", "--", "sh")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\nno difference\n") {
		t.Errorf("equal sets: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = crun(t, "plan", "--plugins", "uts", "--diff", "nosuchplugin", "--", "sh")
	if r.code != 125 || !strings.Contains(r.stderr, "nosuchplugin") {
		t.Errorf("an unknown plugin: exit %d, %q", r.code, r.stderr)
	}
}
