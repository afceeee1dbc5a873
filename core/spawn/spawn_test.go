package spawn

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crun-project/crun/core/child"
	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func testPlan(steps ...spec.Step) *plan.Plan {
	p := &plan.Plan{
		Namespaces: []spec.Namespace{spec.NamespaceMount, spec.NamespaceUTS, spec.NamespacePID},
		Command:    []string{"true"},
		Env:        []string{"PATH=/usr/bin:/bin"},
	}
	p.Steps = append(p.Steps, plan.Step{Plugin: "mnt", Step: spec.Step{Phase: spec.PhasePrepare,
		Mount: &spec.Mount{Target: "/", Flags: []string{"rec", "private"}}}})
	for _, s := range steps {
		p.Steps = append(p.Steps, plan.Step{Plugin: "test", Step: s})
	}
	return p
}

func TestCompileSaysWhyCrunInitRuns(t *testing.T) {
	reaping := testPlan()
	reaping.ReapingInit = true
	noMount := testPlan()
	noMount.Namespaces = []spec.Namespace{spec.NamespaceUTS}
	noMount.Steps = nil
	hostMountPoint := testPlan(spec.Step{Phase: spec.PhaseMount,
		Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/srv/new", CreateTarget: true}})
	for _, c := range []struct {
		name string
		p    *plan.Plan
		why  string
	}{
		{"pid.init", reaping, "pid.init=true"},
		{"no mount namespace", noMount, "without a mount namespace"},
		{"a mount point on the host", hostMountPoint, "creates a mount point in the host's tree"},
	} {
		if _, err := Compile(c.p); err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: Compile error %v, want one saying %q", c.name, err, c.why)
		}
	}
	// After the root switch, a mount point is the container's own.
	afterSwitch := testPlan(
		spec.Step{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: "/tmp/root"}},
		spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/srv/new", CreateTarget: true}})
	if _, err := Compile(afterSwitch); err != nil {
		t.Errorf("a mount point after the root switch: %v", err)
	}
}

func TestCompileCommandCandidates(t *testing.T) {
	p := testPlan()
	p.Command = []string{"sh", "-c", "exit 0"}
	p.Env = []string{"PATH=/nope", "HOME=/", "PATH=/usr/bin::/bin"} // the last PATH counts
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range prog.candidates {
		got = append(got, prog.candidate(i))
	}
	if want := []string{"/usr/bin/sh", "sh", "/bin/sh"}; !slices.Equal(got, want) || prog.explicit {
		t.Errorf("candidates %q (explicit %v), want %q", got, prog.explicit, want)
	}
	p.Command = []string{"./run.sh"}
	if prog, err = Compile(p); err != nil || len(prog.candidates) != 1 || prog.candidate(0) != "./run.sh" || !prog.explicit {
		t.Errorf("a path: %v %v", prog, err)
	}
}

func TestRelative(t *testing.T) {
	for path, want := range map[string]string{"/": ".", "/dev//pts/": "dev/pts", "/../etc/passwd": "etc/passwd", "tmp": "tmp"} {
		if got := relative(path); got != want {
			t.Errorf("relative(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestStepErrorsSayWhatCrunInitSays(t *testing.T) {
	p := testPlan(spec.Step{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: "/tmp/root"}},
		spec.Step{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "pts/ptmx", Link: "/dev/ptmx"}})
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	m := prog.describe(record{Kind: uint32(kindFail), Step: 2, Stage: uint32(stPivot), Errno: uint32(syscall.EINVAL)})
	if m.Step != 2 || m.Plugin != "test" || m.Err != "pivot_root /tmp/root: invalid argument (is it a mount point, and is / private?)" {
		t.Errorf("pivot_root: %+v", m)
	}
	m = prog.describe(record{Kind: uint32(kindFail), Step: 3, Stage: uint32(stStep), Errno: uint32(syscall.EEXIST)})
	if m.Err != "symlink pts/ptmx /dev/ptmx: file exists" {
		t.Errorf("symlink: %+v", m)
	}
	m = prog.describe(record{Kind: uint32(kindFail), Stage: uint32(stNotFound), Errno: uint32(syscall.ENOENT)})
	if m.ExitCode != child.ExitNotFound || m.Err != "command not found in the container's PATH=/usr/bin:/bin" {
		t.Errorf("not found: %+v", m)
	}
}

// spawned is what a spawned child did.
type spawned struct {
	failure *child.Message
	status  syscall.WaitStatus
	stdout  string
}

// run starts p's child, with stdout to a file, and waits for it.
func run(t *testing.T, p *plan.Plan) spawned {
	t.Helper()
	prog, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c, err := prog.Start(Attr{Stdio: [3]*os.File{nil, out, nil}, Terminal: -1, CgroupFD: -1})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer c.Close()
	executing, failure, err := c.Follow(Progress{})
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.Pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	if !executing && failure == nil {
		t.Fatalf("the child died before the exec: %v", ws)
	}
	b, _ := os.ReadFile(out.Name())
	return spawned{failure: failure, status: ws, stdout: string(b)}
}

// TestSpawnedChild runs real children, as root: the steps happen in the
// new namespaces, and each failure is reported with its step and the
// kernel's error.
func TestSpawnedChild(t *testing.T) {
	sdktest.RequireRoot(t)
	dir := t.TempDir()
	// A PATH where the first "cmd" is a directory, the second cannot be
	// executed, and the third can.
	for _, d := range []string{"a/cmd", "b", "c"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "b/cmd"), []byte("#!/bin/sh\necho b\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c/cmd"), []byte("#!/bin/sh\necho c\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "nointerp"), []byte("#!/nonexistent/sh\n"), 0o755)
	path := "PATH=" + filepath.Join(dir, "a") + ":" + filepath.Join(dir, "b") + ":" + filepath.Join(dir, "c")
	hostName, _ := os.Hostname()

	t.Run("steps and PATH", func(t *testing.T) {
		p := testPlan(spec.Step{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "spawned"}},
			spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs",
				Target: "/new/dir", Root: dir, CreateTarget: true}})
		p.Command = []string{"sh", "-c", `hostname; cmd; grep -c " ` + dir + `/new/dir tmpfs " /proc/self/mounts`}
		p.Env = []string{path + ":/usr/bin:/bin"}
		r := run(t, p)
		if r.failure != nil || r.status.ExitStatus() != 0 || r.stdout != "spawned\nc\n1\n" {
			t.Errorf("failure %+v, status %v, stdout %q", r.failure, r.status, r.stdout)
		}
		if h, _ := os.Hostname(); h != hostName {
			t.Errorf("the host's name changed to %q", h)
		}
		if b, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(b), dir+"/new/dir") {
			t.Error("the container's mount is on the host")
		}
	})
	for _, c := range []struct {
		name    string
		steps   []spec.Step
		path    string // the container's PATH, if not the three
		command []string
		step    int
		code    int
		err     string
	}{
		{"a file that cannot be executed", nil, "PATH=" + filepath.Join(dir, "a") + ":" + filepath.Join(dir, "b"), []string{"cmd"}, 0, child.ExitCannotExecute, "permission denied"},
		{"not found", nil, "", []string{"nothing-here"}, 0, child.ExitNotFound, "command not found in the container's PATH=" + dir},
		{"no such path", nil, "", []string{"/nothing/here"}, 0, child.ExitNotFound, "command not found"},
		{"interpreter missing", nil, "", []string{filepath.Join(dir, "nointerp")}, 0, child.ExitNotFound, "no such file or directory"},
		{"an unknown file system", []spec.Step{{Phase: spec.PhaseMount,
			Mount: &spec.Mount{Source: "x", FSType: "nosuchfs", Target: "/mnt", Root: dir, CreateTarget: true}}},
			"", []string{"true"}, 2, child.ExitCrunFailed, "no such device"},
		{"a symlink in the way", []spec.Step{{Phase: spec.PhaseConfigure,
			Symlink: &spec.Symlink{Target: "elsewhere", Link: filepath.Join(dir, "c")}}},
			"", []string{"true"}, 2, child.ExitCrunFailed, "symlink elsewhere " + filepath.Join(dir, "c") + ": file exists"},
		{"pivot_root onto a directory", []spec.Step{{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: dir}}},
			"", []string{"true"}, 2, child.ExitCrunFailed, "pivot_root " + dir + ": "},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := testPlan(c.steps...)
			p.Command = c.command
			p.Env = []string{path}
			if c.path != "" {
				p.Env = []string{c.path}
			}
			r := run(t, p)
			f := r.failure
			if f == nil || f.Step != c.step || f.ExitCode != c.code || !strings.Contains(f.Err, c.err) {
				t.Errorf("failure %+v, want step %d, exit %d, error with %q", f, c.step, c.code, c.err)
			}
		})
	}
	// PATH entries that cannot be searched are skipped, like a missing one.
	os.MkdirAll(filepath.Join(dir, "loop"), 0o755)
	os.Symlink("cmd", filepath.Join(dir, "loop/cmd"))
	p := testPlan()
	p.Command = []string{"cmd"}
	p.Env = []string{"PATH=" + filepath.Join(dir, "loop") + ":" + filepath.Join(dir, "c")}
	if r := run(t, p); r.failure != nil || r.stdout != "c\n" {
		t.Errorf("a symlink loop on PATH: %+v, stdout %q", r.failure, r.stdout)
	}

	// The symlink step accepts a link that is already there, the same.
	os.Symlink("pts/ptmx", filepath.Join(dir, "ptmx"))
	p = testPlan(spec.Step{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "pts/ptmx", Link: filepath.Join(dir, "ptmx")}})
	if r := run(t, p); r.failure != nil {
		t.Errorf("the same symlink again: %+v", r.failure)
	}
}

// TestTargetsThroughSymlinks: mount targets inside a root are reached as
// crun-init's ResolveInRoot reaches them: a symlink to something missing
// (as a rootfs's /etc/resolv.conf often is) is followed and its target
// created, an absolute one inside the root, never on the host.
func TestTargetsThroughSymlinks(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "var"), 0o755)
	os.Symlink("../run/systemd/resolve/stub-resolv.conf", filepath.Join(root, "etc/resolv.conf"))
	os.Symlink("/crun-test-data", filepath.Join(root, "var/lib"))
	os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
	p := testPlan(
		spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "/etc/hostname", Target: "/etc/resolv.conf",
			Root: root, Flags: []string{"bind"}, CreateTarget: true}},
		spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/var/lib/x",
			Root: root, CreateTarget: true}})
	p.Command = []string{"cat", "/proc/self/mounts"}
	r := run(t, p)
	if r.failure != nil {
		t.Fatalf("failure %+v", r.failure)
	}
	for _, m := range []string{root + "/run/systemd/resolve/stub-resolv.conf ", root + "/crun-test-data/x tmpfs "} {
		if !strings.Contains(r.stdout, m) {
			t.Errorf("no mount on %s: %s", m, r.stdout)
		}
	}
	if _, err := os.Lstat("/crun-test-data"); err == nil {
		os.RemoveAll("/crun-test-data")
		t.Error("the absolute symlink led out of the root: /crun-test-data was made on the host")
	}
	if fi, err := os.Stat(filepath.Join(root, "crun-test-data/x")); err != nil || !fi.IsDir() {
		t.Errorf("the tmpfs's mount point: %v", err)
	}

	// A file where a directory must be: crun-init's MkdirAll says so.
	p = testPlan(spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(root, "file"), Mode: 0o1777}},
		spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(root, "new/dir"), Mode: 0o1777}})
	r = run(t, p)
	if r.failure == nil || r.failure.Step != 2 || r.failure.Err != "mkdir "+filepath.Join(root, "file")+": not a directory" {
		t.Errorf("mkdir over a file: %+v", r.failure)
	}
	p.Steps = append(p.Steps[:1], p.Steps[2:]...)
	if r = run(t, p); r.failure != nil {
		t.Fatalf("mkdir: %+v", r.failure)
	}
	// Permission bits only (less the umask), as crun-init makes them.
	if fi, err := os.Stat(filepath.Join(root, "new/dir")); err != nil || fi.Mode()&(os.ModeSticky|os.ModeSetgid|os.ModeSetuid) != 0 {
		t.Errorf("mkdir 01777: %v %v", fi.Mode(), err)
	}
}

// TestCopyFromAPipe: a copy's source may be a pipe (a secret given as
// <(...)), which sendfile cannot read.
func TestCopyFromAPipe(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w.Write([]byte("s3cret"))
	w.Close()
	p := testPlan(spec.Step{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{
		Source: fmt.Sprintf("/proc/self/fd/%d", r.Fd()), Root: root, Target: "/run/secrets/token", Mode: 0o600}})
	p.Command = []string{"cat", filepath.Join(root, "run/secrets/token")}
	res := run(t, p)
	if res.failure != nil || res.stdout != "s3cret" {
		t.Errorf("failure %+v, stdout %q", res.failure, res.stdout)
	}
	if fi, err := os.Stat(filepath.Join(root, "run/secrets/token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the copy's mode: %v %v", fi, err)
	}
}

// TestChildWaitingForReleaseEndsWithCrun: a child started to wait for
// Release exits when crun closes its end instead (crun gave up).
func TestChildWaitingForReleaseEndsWithCrun(t *testing.T) {
	sdktest.RequireRoot(t)
	prog, err := Compile(testPlan())
	if err != nil {
		t.Fatal(err)
	}
	c, err := prog.Start(Attr{Terminal: -1, CgroupFD: -1, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	done := make(chan syscall.WaitStatus, 1)
	go func() {
		var ws syscall.WaitStatus
		syscall.Wait4(c.Pid, &ws, 0, nil)
		done <- ws
	}()
	select {
	case ws := <-done:
		if ws.ExitStatus() != ExitCrunFailed {
			t.Errorf("the child ended with %v", ws)
		}
	case <-time.After(5 * time.Second):
		syscall.Kill(c.Pid, syscall.SIGKILL)
		t.Fatal("the child still waits after crun closed its end")
	}
}

// TestCopyIsNeverReadableByOthers: a copy's target has the copy's mode
// from the moment it exists, not once its content is in. The source is a
// FIFO, held open while the target is looked at.
func TestCopyIsNeverReadableByOthers(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "secret")
	seen := make(chan os.FileMode, 1)
	go func() { // Start returns only once the child executes the command
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // once the child opens it
		if err != nil {
			seen <- 0
			return
		}
		defer w.Close()
		w.Write([]byte("TOP-SECRET"))
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if fi, err := os.Stat(target); err == nil && fi.Size() > 0 {
				seen <- fi.Mode()
				return
			}
		}
		seen <- 0
	}()
	res := run(t, testPlan(spec.Step{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{
		Source: fifo, Root: root, Target: "/secret", Mode: 0o400}}))
	if res.failure != nil {
		t.Fatalf("copy: %+v", res.failure)
	}
	if mode := <-seen; mode.Perm() != 0o400 {
		t.Errorf("while the copy was made, the target's mode was %v", mode)
	}
}

// TestPathTooLong: a symlink that makes a path longer than the kernel
// takes is an error, not a path cut short.
func TestPathTooLong(t *testing.T) {
	sdktest.RequireRoot(t)
	dir := t.TempDir()
	os.Symlink(strings.Repeat("d/", 2040)+"end", filepath.Join(dir, "l"))
	r := run(t, testPlan(spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(dir, "l/wanted")}}))
	if r.failure == nil || !strings.Contains(r.failure.Err, "file name too long") {
		t.Errorf("failure %+v", r.failure)
	}
	if _, err := Compile(testPlan(spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: "/" + strings.Repeat("x", maxPath)}})); err == nil {
		t.Error("a path longer than PATH_MAX compiled")
	}
}
