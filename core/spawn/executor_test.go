package spawn

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

// These tests run the executor for real, as root: the kernel says what
// each step did. Each container has a mount namespace of its own unless
// the test says otherwise, so nothing it mounts reaches the host.

// outcome is what a child did.
type outcome struct {
	failure *Failure
	status  syscall.WaitStatus
	stdout  string
}

// run starts p's child, with stdout to a file, follows it with f and
// waits for it.
func run(t *testing.T, p *plan.Plan, f Follower) outcome {
	t.Helper()
	return runWith(t, p, f, nil)
}

// runWith is run with Attr changed by attr first.
func runWith(t *testing.T, p *plan.Plan, f Follower, attr func(*Attr)) outcome {
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
	a := Attr{Stdio: [3]*os.File{nil, out, nil}, Terminal: -1, CgroupFD: -1}
	if attr != nil {
		attr(&a)
	}
	c, err := prog.Start(a)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer c.Close()
	executing, failure, err := c.Follow(f)
	if err != nil {
		syscall.Kill(c.Pid, syscall.SIGKILL)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.Pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if !executing && failure == nil {
		t.Fatalf("the child died before the exec: %v", ws)
	}
	b, _ := os.ReadFile(out.Name())
	return outcome{failure: failure, status: ws, stdout: string(b)}
}

// onlyUserNamespace makes p's child a process of a new user namespace
// and nothing else: there, root of the namespace is nobody to the mount
// and UTS namespaces it is in (EPERM).
func onlyUserNamespace(p *plan.Plan) {
	p.Namespaces = []spec.Namespace{spec.NamespaceUser}
	p.Steps = p.Steps[1:]
}

// TestEveryStepKind runs each step kind through the executor, with what
// it is for and with each way it fails: the kernel's result is checked
// from inside the container (the command) or on the host, and a failure
// by the step it names and its words.
func TestEveryStepKind(t *testing.T) {
	sdktest.RequireRoot(t)
	dir := t.TempDir()
	// A root file system with the traps a rootfs can hold.
	root := filepath.Join(dir, "root")
	for _, d := range []string{"etc", "var", "bin", "work", "proc"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.Symlink("../run/systemd/resolve/stub-resolv.conf", filepath.Join(root, "etc/resolv.conf"))) // dangling
	must(t, os.Symlink("/crun-test-escape", filepath.Join(root, "var/lib")))                               // absolute: out of the root
	must(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret"), 0o644))
	must(t, os.Symlink("/crun-test-escape", filepath.Join(dir, "escape")))
	must(t, os.Symlink("made-by-mkdir", filepath.Join(dir, "dangling")))
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("the tests need busybox-static: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(root, "bin/busybox"), busybox, 0o755))
	host, _ := os.Hostname()
	escaped := func(t *testing.T) {
		if _, err := os.Lstat("/crun-test-escape"); err == nil {
			os.RemoveAll("/crun-test-escape")
			t.Error("a symlink led out of the root: /crun-test-escape was made on the host")
		}
	}
	cgroup := ""
	if fi, err := os.Stat("/sys/fs/cgroup/pids/tasks"); err == nil && fi.Mode().IsRegular() {
		cgroup = filepath.Join("/sys/fs/cgroup/pids", fmt.Sprintf("crun-test-%d", os.Getpid()))
		must(t, os.Mkdir(cgroup, 0o755))
		t.Cleanup(func() { os.Remove(cgroup) })
	}
	mount := func(m spec.Mount) spec.Step { return spec.Step{Phase: spec.PhaseMount, Mount: &m} }
	pivot := []spec.Step{
		mount(spec.Mount{Source: root, Target: root, Flags: []string{"bind", "rec"}}),
		{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: root}},
	}

	for _, c := range []struct {
		name    string
		steps   []spec.Step
		plan    func(*plan.Plan) // changes to the plan
		command string           // sh -c: the host's sh, or with inRoot the root's busybox
		inRoot  bool
		stdout  string // what the command prints
		check   func(t *testing.T)
		// A failure: the step (in the plan, the private mount tree
		// being 1), its exit code, and words its error has.
		step, code int
		err        string
	}{
		// mount
		{name: "mount: a tmpfs, its target made inside the root",
			steps:   []spec.Step{mount(spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/new/dir", Root: root, CreateTarget: true})},
			command: "grep -c ' " + root + "/new/dir tmpfs ' /proc/self/mounts", stdout: "1\n",
			check: func(t *testing.T) {
				if fi, err := os.Stat(filepath.Join(root, "new/dir")); err != nil || !fi.IsDir() {
					t.Errorf("the mount point: %v", err)
				}
				if b, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(b), root+"/new/dir") {
					t.Error("the container's mount is on the host")
				}
			}},
		{name: "mount: a bind of a file through a dangling symlink",
			steps: []spec.Step{mount(spec.Mount{Source: filepath.Join(dir, "secret"), Target: "/etc/resolv.conf", Root: root,
				Flags: []string{"bind"}, CreateTarget: true})},
			command: "cat " + root + "/etc/resolv.conf", stdout: "s3cret",
			check: func(t *testing.T) {
				if fi, err := os.Stat(filepath.Join(root, "run/systemd/resolve/stub-resolv.conf")); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("the symlink's target was not made a file: %v", err)
				}
			}},
		{name: "mount: a symlink out of the root stays inside",
			steps:   []spec.Step{mount(spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/var/lib/x", Root: root, CreateTarget: true})},
			command: "grep -c ' " + root + "/crun-test-escape/x tmpfs ' /proc/self/mounts", stdout: "1\n", check: escaped},
		{name: "mount: a missing target",
			steps: []spec.Step{mount(spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/nothing/here", Root: root})},
			step:  2, code: ExitCrunFailed, err: "open the mount target " + root + "/nothing/here in " + root + ": no such file or directory"},
		{name: "mount: a missing source",
			steps: []spec.Step{mount(spec.Mount{Source: "/nothing/here", Target: "/mnt", Root: root, Flags: []string{"bind"}, CreateTarget: true})},
			step:  2, code: ExitCrunFailed, err: "bind source: stat /nothing/here: no such file or directory"},
		{name: "mount: a file system the kernel does not have",
			steps: []spec.Step{mount(spec.Mount{Source: "x", FSType: "nosuchfs", Target: "/mnt", Root: root, CreateTarget: true})},
			step:  2, code: ExitCrunFailed, err: "no such device"},
		{name: "mount: EPERM outside the mount namespace's owner",
			steps: []spec.Step{mount(spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: filepath.Join(root, "work")})},
			plan:  onlyUserNamespace, step: 1, code: ExitCrunFailed, err: "operation not permitted"},

		// sethostname
		{name: "sethostname",
			steps:   []spec.Step{{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "spawned"}}},
			command: "hostname", stdout: "spawned\n",
			check: func(t *testing.T) {
				if h, _ := os.Hostname(); h != host {
					t.Errorf("the host's name changed to %q", h)
				}
			}},
		{name: "sethostname: EPERM outside the UTS namespace's owner",
			steps: []spec.Step{{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "nope"}}},
			plan:  onlyUserNamespace, step: 1, code: ExitCrunFailed, err: "sethostname \"nope\"): operation not permitted"},

		// mkdir
		{name: "mkdir: with its parents, permission bits only",
			steps:   []spec.Step{{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(root, "a/b/c"), Mode: 0o1750}}},
			command: "stat -c %a " + root + "/a/b/c", stdout: "750\n"},
		{name: "mkdir: through a dangling symlink",
			steps:   []spec.Step{{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(dir, "dangling/x")}}},
			command: "test -d " + dir + "/made-by-mkdir/x && echo yes", stdout: "yes\n"},
		{name: "mkdir: after a chroot, a symlink out of the root stays inside",
			steps: []spec.Step{{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root}},
				{Phase: spec.PhaseConfigure, Mkdir: &spec.Mkdir{Path: "/var/lib/made"}}},
			inRoot: true, command: "test -d /crun-test-escape/made && echo inside", stdout: "inside\n", check: escaped},
		{name: "mkdir: a file in the way",
			steps: []spec.Step{{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(root, "file")}}},
			step:  2, code: ExitCrunFailed, err: "mkdir " + filepath.Join(root, "file") + ": not a directory"},

		// symlink
		{name: "symlink",
			steps:   []spec.Step{{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "pts/ptmx", Link: filepath.Join(dir, "ptmx")}}},
			command: "readlink " + dir + "/ptmx", stdout: "pts/ptmx\n"},
		{name: "symlink: the same one already there",
			steps:   []spec.Step{{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "/crun-test-escape", Link: filepath.Join(dir, "escape")}}},
			command: "readlink " + dir + "/escape", stdout: "/crun-test-escape\n"},
		{name: "symlink: another one in the way",
			steps: []spec.Step{{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "elsewhere", Link: filepath.Join(dir, "escape")}}},
			step:  2, code: ExitCrunFailed, err: "symlink elsewhere " + filepath.Join(dir, "escape") + ": file exists"},
		{name: "symlink: a missing directory",
			steps: []spec.Step{{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "x", Link: filepath.Join(dir, "nothing/x")}}},
			step:  2, code: ExitCrunFailed, err: "no such file or directory"},

		// chdir
		{name: "chdir",
			steps:   []spec.Step{{Phase: spec.PhaseConfigure, Chdir: &spec.Chdir{Path: filepath.Join(root, "work")}}},
			command: "pwd", stdout: filepath.Join(root, "work") + "\n"},
		{name: "chdir: a missing directory",
			steps: []spec.Step{{Phase: spec.PhaseConfigure, Chdir: &spec.Chdir{Path: filepath.Join(root, "nothing")}}},
			step:  2, code: ExitCrunFailed, err: "no such file or directory"},

		// chroot
		{name: "chroot",
			steps:  []spec.Step{{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root}}},
			inRoot: true, command: "test -f /file && test ! -e " + dir + "/secret && pwd", stdout: "/\n"},
		{name: "chroot: a missing directory",
			steps: []spec.Step{{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: filepath.Join(dir, "nothing")}}},
			step:  2, code: ExitCrunFailed, err: "no such file or directory"},

		// pivot_root
		{name: "pivot_root: the host's tree is gone",
			steps: append(pivot, spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "proc", FSType: "proc", Target: "/proc"}}),
			// The root and its /proc: nothing of the host's mounts.
			inRoot: true, command: "test -f /file && test ! -e " + dir + "/secret && /bin/busybox wc -l </proc/self/mountinfo", stdout: "2\n"},
		{name: "pivot_root: not a mount point",
			steps: []spec.Step{{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: root}}},
			step:  2, code: ExitCrunFailed, err: "(is it a mount point, and is / private?)"},

		// join_cgroup
		{name: "join_cgroup (cgroup v1)",
			steps:   []spec.Step{{Phase: spec.PhasePrepare, JoinCgroup: &spec.JoinCgroup{Path: cgroup}}},
			command: "grep -c ':pids:/" + filepath.Base(cgroup) + "$' /proc/self/cgroup", stdout: "1\n"},
		{name: "join_cgroup: a missing cgroup",
			steps: []spec.Step{{Phase: spec.PhasePrepare, JoinCgroup: &spec.JoinCgroup{Path: "/sys/fs/cgroup/pids/crun-nothing-here"}}},
			step:  2, code: ExitCrunFailed, err: "open /sys/fs/cgroup/pids/crun-nothing-here/tasks: no such file or directory"},

		// copy_file
		{name: "copy_file: content and mode, whatever the umask",
			steps: []spec.Step{{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{Source: filepath.Join(dir, "secret"),
				Root: root, Target: "/run/secrets/token", Mode: 0o640}}},
			command: "cat " + root + "/run/secrets/token; stat -c ' %a' " + root + "/run/secrets/token", stdout: "s3cret 640\n"},
		{name: "copy_file: a symlink out of the root stays inside",
			steps: []spec.Step{{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{Source: filepath.Join(dir, "secret"),
				Root: root, Target: "/var/lib/token", Mode: 0o600}}},
			command: "cat " + root + "/crun-test-escape/token", stdout: "s3cret", check: escaped},
		{name: "copy_file: a missing source",
			steps: []spec.Step{{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{Source: "/nothing/here", Root: root, Target: "/x", Mode: 0o600}}},
			step:  2, code: ExitCrunFailed, err: "open /nothing/here: no such file or directory",
			check: func(t *testing.T) {
				if _, err := os.Lstat(filepath.Join(root, "x")); err == nil {
					t.Error("a copy that could not be made left its target")
				}
			}},
		{name: "copy_file: a file where a directory must be",
			steps: []spec.Step{{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{Source: filepath.Join(dir, "secret"),
				Root: root, Target: "/file/token", Mode: 0o600}}},
			step: 2, code: ExitCrunFailed, err: "not a directory"},

		// mask
		{name: "mask: a file under /dev/null, a directory under an empty tmpfs, a missing path left alone",
			steps: []spec.Step{{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: filepath.Join(dir, "secret")}},
				{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: filepath.Join(root, "etc")}},
				{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: filepath.Join(root, "nothing")}}},
			command: "wc -c <" + dir + "/secret; ls -A " + root + "/etc | wc -l; touch " + root + "/etc/x 2>&1 | grep -o Read-only",
			stdout:  "0\n0\nRead-only\n"},
		{name: "mask: read-only, keeping the mount's own flags",
			steps: []spec.Step{{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/work", Root: root,
				Flags: []string{"nosuid", "nodev"}}},
				{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: filepath.Join(root, "work"), ReadOnly: true}}},
			command: "grep ' " + root + "/work ' /proc/self/mounts | tail -1 | cut -d' ' -f4 | tr , '\n' | grep -E '^(ro|nosuid|nodev)$'; touch " + root + "/work/x 2>&1 | grep -o Read-only",
			stdout:  "ro\nnosuid\nnodev\nRead-only\n"},
		{name: "mask: a file, with no /dev/null in the root",
			steps: []spec.Step{{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root}},
				{Phase: spec.PhaseConfigure, Mask: &spec.Mask{Path: "/file"}}},
			step: 3, code: ExitCrunFailed, err: "a file is hidden under the container's /dev/null, and there is none"},

		// rlimit
		{name: "rlimit",
			steps:   []spec.Step{{Phase: spec.PhaseRestrict, Rlimit: &spec.Rlimit{Resource: "NOFILE", Soft: 100, Hard: 200}}},
			command: "ulimit -n; ulimit -Hn", stdout: "100\n200\n"},
		{name: "rlimit: EPERM raising a hard limit in a user namespace",
			steps: []spec.Step{{Phase: spec.PhaseRestrict, Rlimit: &spec.Rlimit{Resource: "RLIMIT_NOFILE", Soft: 1, Hard: hardNofile(t) + 1}}},
			plan:  onlyUserNamespace, step: 1, code: ExitCrunFailed, err: "setrlimit: operation not permitted"},

		// set_user
		{name: "set_user",
			steps:   []spec.Step{{Phase: spec.PhaseRestrict, SetUser: &spec.SetUser{UID: 1000, GID: 1001, Groups: []uint32{10, 20}}}},
			command: "grep -E '^(Uid|Gid|Groups)' /proc/self/status | tr -s '\t ' ' '",
			stdout:  "Uid: 1000 1000 1000 1000\nGid: 1001 1001 1001 1001\nGroups: 10 20 \n"},
		{name: "set_user: EPERM for an unmapped user in a user namespace",
			steps: []spec.Step{{Phase: spec.PhaseRestrict, SetUser: &spec.SetUser{UID: 1000, GID: 1000}}},
			plan:  onlyUserNamespace, step: 1, code: ExitCrunFailed, err: "setgroups []: operation not permitted"},

		// capabilities
		{name: "capabilities, kept across a user change",
			steps: []spec.Step{{Phase: spec.PhaseRestrict, SetUser: &spec.SetUser{UID: 1000, GID: 1000}},
				{Phase: spec.PhaseRestrict, Capabilities: &spec.Capabilities{Bounding: []string{"CHOWN", "KILL"},
					Effective: []string{"CHOWN", "KILL"}, Permitted: []string{"CHOWN", "KILL"}, Inheritable: []string{"KILL"}, Ambient: []string{"KILL"}}}},
			// After the exec, a user other than root keeps its ambient set.
			command: "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status | tr -s '\t ' ' '",
			stdout:  "CapInh: 0000000000000020\nCapPrm: 0000000000000020\nCapEff: 0000000000000020\nCapBnd: 0000000000000021\nCapAmb: 0000000000000020\n"},
		{name: "capabilities: EPERM once CAP_SETPCAP is gone",
			steps: []spec.Step{{Phase: spec.PhaseRestrict, Capabilities: &spec.Capabilities{Bounding: []string{"CHOWN"},
				Effective: []string{"CHOWN"}, Permitted: []string{"CHOWN"}}},
				{Phase: spec.PhaseRestrict, Capabilities: &spec.Capabilities{Bounding: []string{"CHOWN"},
					Effective: []string{"CHOWN"}, Permitted: []string{"CHOWN"}}}},
			step: 3, code: ExitCrunFailed, err: "drop CAP_DAC_OVERRIDE from the bounding set: operation not permitted"},

		// no_new_privs
		{name: "no_new_privs",
			steps:   []spec.Step{{Phase: spec.PhaseRestrict, NoNewPrivs: &spec.NoNewPrivs{}}},
			command: "grep NoNewPrivs /proc/self/status | tr -s '\t ' ' '", stdout: "NoNewPrivs: 1\n"},

		// seccomp
		{name: "seccomp",
			steps: []spec.Step{{Phase: spec.PhaseRestrict, Seccomp: &spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW",
				Syscalls: []spec.SeccompRule{{Names: []string{"mkdir", "mkdirat"}, Action: "SCMP_ACT_ERRNO"},
					{Names: []string{"getpriority"}, Action: "SCMP_ACT_ERRNO", Errno: uint32p(uint32(syscall.ENOSYS))}}}}},
			command: "grep Seccomp: /proc/self/status | tr -s '\t ' ' '; mkdir " + dir + "/no 2>&1 | grep -o 'not permitted'; nice 2>&1 | grep -o 'not implemented'",
			stdout:  "Seccomp: 2\nnot permitted\nnot implemented\n",
			check: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
					t.Error("the filter let mkdir through")
				}
			}},
		{name: "seccomp: EACCES without no_new_privs once CAP_SYS_ADMIN is gone",
			steps: []spec.Step{{Phase: spec.PhaseRestrict, Capabilities: &spec.Capabilities{Bounding: []string{"CHOWN"},
				Effective: []string{"CHOWN"}, Permitted: []string{"CHOWN"}}},
				{Phase: spec.PhaseRestrict, Seccomp: &spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW"}}},
			step: 3, code: ExitCrunFailed, err: "permission denied (without no_new_privs, the filter must come before the capabilities are dropped)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.name, "join_cgroup (") && cgroup == "" {
				t.Skip("no cgroup v1 pids hierarchy here: the join_cgroup step kind is for cgroup v1")
			}
			p := testPlan(c.steps...)
			p.Command = []string{"sh", "-c", c.command}
			if c.inRoot {
				p.Command = []string{"/bin/busybox", "sh", "-c", c.command}
			}
			if c.command == "" {
				p.Command = []string{"true"}
			}
			if c.plan != nil {
				c.plan(p)
			}
			r := run(t, p, Follower{})
			switch f := r.failure; {
			case c.err == "" && f != nil:
				t.Errorf("failed: %v", f)
			case c.err == "" && (r.status.ExitStatus() != 0 || r.stdout != c.stdout):
				t.Errorf("status %v, stdout %q, want %q", r.status, r.stdout, c.stdout)
			case c.err != "" && f == nil:
				t.Errorf("did not fail (stdout %q), want %q", r.stdout, c.err)
			case c.err != "" && (f.Step != c.step || f.ExitCode != c.code || !strings.Contains(f.Error(), c.err)):
				t.Errorf("failure %q (step %d, exit %d), want step %d, exit %d, with %q", f, f.Step, f.ExitCode, c.step, c.code, c.err)
			case c.err != "" && r.status.ExitStatus() != ExitCrunFailed:
				t.Errorf("the child exited %v after a failure", r.status)
			}
			if c.check != nil {
				c.check(t)
			}
		})
	}
}

// TestExec: the command is found along the container's PATH as a shell
// finds it, and each way it cannot run has its exit code.
func TestExec(t *testing.T) {
	sdktest.RequireRoot(t)
	dir := t.TempDir()
	// A PATH where the first "cmd" is a directory, the second cannot be
	// executed, and the third can.
	for _, d := range []string{"a/cmd", "b", "c", "loop"} {
		must(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(dir, "b/cmd"), []byte("#!/bin/sh\necho b\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "c/cmd"), []byte("#!/bin/sh\necho c\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "nointerp"), []byte("#!/nonexistent/sh\n"), 0o755))
	must(t, os.Symlink("cmd", filepath.Join(dir, "loop/cmd")))
	path := func(dirs ...string) string {
		for i, d := range dirs {
			dirs[i] = filepath.Join(dir, d)
		}
		return "PATH=" + strings.Join(dirs, ":")
	}
	for _, c := range []struct {
		name    string
		path    string
		command string
		stdout  string
		code    int
		err     string
	}{
		{"along PATH, past a directory and a file that cannot run", path("a", "b", "c"), "cmd", "c\n", 0, ""},
		{"past a symlink loop", path("loop", "c"), "cmd", "c\n", 0, ""},
		{"a file that cannot be executed", path("a", "b"), "cmd", "", ExitCannotExecute, "exec " + dir + "/b/cmd: permission denied"},
		{"not found", path("a"), "nothing-here", "", ExitNotFound, "command not found in the container's PATH=" + dir + "/a"},
		{"no such path", path("c"), "/nothing/here", "", ExitNotFound, "exec /nothing/here: command not found"},
		{"a path through a file", path("c"), dir + "/c/cmd/x", "", ExitNotFound, "exec " + dir + "/c/cmd/x: command not found"},
		{"its interpreter missing", path("c"), dir + "/nointerp", "", ExitNotFound, "no such file or directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := testPlan()
			p.Command, p.Env = []string{c.command}, []string{c.path}
			r := run(t, p, Follower{})
			switch f := r.failure; {
			case c.err == "" && (f != nil || r.stdout != c.stdout):
				t.Errorf("failure %v, stdout %q, want %q", f, r.stdout, c.stdout)
			case c.err != "" && (f == nil || f.Step != 0 || f.ExitCode != c.code || !strings.Contains(f.Error(), c.err)):
				t.Errorf("failure %v, want exit %d with %q", f, c.code, c.err)
			case c.err != "" && r.status.ExitStatus() != ExitCrunFailed:
				t.Errorf("the child exited %v", r.status)
			}
		})
	}
}

// TestExecFromFD: with Attr.Exec the child executes that file, whatever
// the command's name and PATH say, with the plan's argv; with crun's
// init as PID 1 too. The file stays out of the command's fds.
func TestExecFromFD(t *testing.T) {
	sdktest.RequireRoot(t)
	sh, err := os.Open("/bin/sh")
	must(t, err)
	defer sh.Close()
	for _, init := range []bool{false, true} {
		p := testPlan()
		p.ReapingInit = init
		p.Command, p.Env = []string{"no-such-command", "-c", `echo from fd; set -- /proc/self/fd/*; echo $#`}, []string{"PATH=/nowhere"}
		var execed string
		r := runWith(t, p, Follower{Exec: func(path string, _ int64) { execed = path }}, func(a *Attr) { a.Exec = sh })
		// 0, 1, 2 and ls's own directory.
		if r.failure != nil || r.stdout != "from fd\n4\n" || !strings.Contains(execed, "by fd") {
			t.Errorf("init %v: failure %v, stdout %q, exec %q", init, r.failure, r.stdout, execed)
		}
	}
}

// TestReapingInit: with pid.init the child stays as PID 1, the command
// runs as its child, orphans are reaped, and the init ends with the
// command's status (128+N for a signal).
func TestReapingInit(t *testing.T) {
	sdktest.RequireRoot(t)
	for _, c := range []struct {
		command string
		status  int
	}{
		{`echo $$ $PPID $(cat /proc/1/comm); (sleep 0.2 &); exit 3`, 3},
		{`kill -USR1 $$`, 128 + int(syscall.SIGUSR1)},
	} {
		p := testPlan(spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "proc", Target: "/proc", FSType: "proc"}})
		p.ReapingInit = true
		p.Command = []string{"sh", "-c", c.command}
		r := run(t, p, Follower{})
		if r.failure != nil || r.status.ExitStatus() != c.status {
			t.Errorf("%s: failure %v, status %v, want %d", c.command, r.failure, r.status, c.status)
		}
		if c.status == 3 && r.stdout != "2 1 crun-init\n" {
			t.Errorf("the command's pid, its parent's and PID 1's name: %q, want 2 1 crun-init", r.stdout)
		}
	}
}

// TestHostMountsAreAnnouncedFirst: without a mount namespace the child's
// mounts are the host's; crun hears of each mount, and of each mount
// point in the host's tree, before it exists, and the child waits until
// crun has answered.
func TestHostMountsAreAnnouncedFirst(t *testing.T) {
	sdktest.RequireRoot(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	must(t, os.MkdirAll(filepath.Join(root, "proc"), 0o755))
	must(t, os.Symlink("/srv", filepath.Join(root, "link")))
	must(t, os.Symlink("missing", filepath.Join(dir, "dangling")))
	target := filepath.Join(dir, "made/here")
	p := testPlan(
		spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: target, CreateTarget: true}},
		spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/link/x", Root: root, CreateTarget: true}},
		// Through a dangling symlink: its target is made, and only that
		// is recorded (the symlink was there before).
		spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: filepath.Join(dir, "dangling"), CreateTarget: true}},
		spec.Step{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root}},
		spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "proc", FSType: "proc", Target: "/proc"}})
	p.Namespaces = []spec.Namespace{spec.NamespacePID}
	p.Steps = p.Steps[1:]
	p.Command = []string{"/nothing"} // the exec fails: only the steps matter
	var heard []string
	var mounted []string
	t.Cleanup(func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			unix.Unmount(mounted[i], unix.MNT_DETACH)
		}
	})
	r := run(t, p, Follower{
		Mount: func(step int, path string) error {
			// The path as the child sees it: after the chroot, inside it.
			host := path
			if step == 5 {
				host = filepath.Join(root, path)
			}
			if mountsAt(t, host) != 0 {
				t.Errorf("step %d: %s was mounted before crun heard of it", step, host)
			}
			mounted = append(mounted, host)
			heard = append(heard, fmt.Sprintf("mount %d %s", step, path))
			return nil
		},
		Create: func(step int, path string) error {
			if _, err := os.Lstat(path); err == nil {
				t.Errorf("step %d: %s was made before crun heard of it", step, path)
			}
			heard = append(heard, fmt.Sprintf("create %d %s", step, path))
			return nil
		},
	})
	if r.failure == nil || r.failure.Step != 0 {
		t.Errorf("failure %v, want the exec's", r.failure)
	}
	want := []string{
		"create 1 " + filepath.Join(dir, "made"), "create 1 " + target, "mount 1 " + target,
		"mount 2 " + filepath.Join(root, "srv/x"), // resolved inside the root
		"create 3 " + filepath.Join(dir, "missing"), "mount 3 " + filepath.Join(dir, "missing"),
		"mount 5 /proc",
	}
	if strings.Join(heard, "\n") != strings.Join(want, "\n") {
		t.Errorf("crun heard:\n%s\nwant:\n%s", strings.Join(heard, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range mounted {
		if mountsAt(t, m) != 1 {
			t.Errorf("%s: not mounted once on the host", m)
		}
	}
}

// mountsAt counts the mounts on path in this process's mount namespace.
func mountsAt(t *testing.T, path string) int {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			n++
		}
	}
	return n
}

// TestBlockedChildLeavesCrunFree: while a step blocks (it reads a FIFO
// nobody writes to), crun's runtime goes on: it collects garbage, changes
// GOMAXPROCS and reads its memory statistics, each of which stops the
// world, and it can kill the child. With a child that shared crun's
// memory, any of these would wait for the child forever.
func TestBlockedChildLeavesCrunFree(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	fifo := filepath.Join(root, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	prog, err := Compile(testPlan(spec.Step{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{
		Source: fifo, Root: root, Target: "/copy", Mode: 0o600}}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := prog.Start(Attr{Terminal: -1, CgroupFD: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // the child opens the FIFO and waits
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.GC()
		debug.SetGCPercent(debug.SetGCPercent(50))
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("crun's runtime could not stop the world while the child was blocked")
	}
	if _, err := os.Stat(filepath.Join(root, "copy")); err == nil {
		t.Error("the copy went ahead: the child did not block where expected")
	}
	must(t, syscall.Kill(c.Pid, syscall.SIGKILL))
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.Pid, &ws, 0, nil); err != nil || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the child: %v %v", ws, err)
	}
	if executing, failure, err := c.Follow(Follower{}); executing || failure != nil || err != nil {
		t.Errorf("a killed child reported executing %v, failure %v, %v", executing, failure, err)
	}
}

// TestCopyFromAPipe: a copy's source may be a pipe (a secret given as
// <(...)), which sendfile cannot read; like a shell's, it is open
// without close-on-exec in crun, and so still open in the child.
func TestCopyFromAPipe(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := unix.FcntlInt(r.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("s3cret"))
	w.Close()
	p := testPlan(spec.Step{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{
		Source: fmt.Sprintf("/proc/self/fd/%d", r.Fd()), Root: root, Target: "/run/secrets/token", Mode: 0o600}})
	p.Command = []string{"cat", filepath.Join(root, "run/secrets/token")}
	res := run(t, p, Follower{})
	if res.failure != nil || res.stdout != "s3cret" {
		t.Errorf("failure %+v, stdout %q", res.failure, res.stdout)
	}
}

// TestChildHoldsNoneOfCrunsFiles: while it prepares the container, the
// child holds none of crun's own files (close-on-exec ones): here
// another pipe's writer, whose reader must see end of file when crun
// closes its end, not when the child executes its command.
func TestChildHoldsNoneOfCrunsFiles(t *testing.T) {
	sdktest.RequireRoot(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	prog, err := Compile(testPlan())
	if err != nil {
		t.Fatal(err)
	}
	c, err := prog.Start(Attr{Terminal: -1, CgroupFD: -1, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Close()
		var ws syscall.WaitStatus
		syscall.Wait4(c.Pid, &ws, 0, nil)
	}()
	time.Sleep(50 * time.Millisecond) // the child is set up and waits
	w.Close()
	r.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("read %d bytes, %v: the child still holds the pipe's write end", n, err)
	}
}

// TestSignalsDuringSetupHaveTheirDefaultAction: a signal sent to the
// child while it waits is taken by no handler of crun's: once it lets
// signals in, before the exec, the signal's default action applies.
func TestSignalsDuringSetupHaveTheirDefaultAction(t *testing.T) {
	sdktest.RequireRoot(t)
	for _, clone3 := range []bool{true, false} {
		t.Run(fmt.Sprintf("clone3=%v", clone3), func(t *testing.T) {
			// Without clone3 the child resets the handlers itself.
			noClone3.Store(!clone3)
			defer noClone3.Store(false)
			signalDuringSetup(t)
		})
	}
}

func signalDuringSetup(t *testing.T) {
	// crun's runtime handles SIGUSR1, as crun does.
	notified := make(chan os.Signal, 1)
	signal.Notify(notified, syscall.SIGUSR1)
	defer signal.Stop(notified)
	p := testPlan()
	p.Command = []string{"sh", "-c", "exit 7"}
	// Not PID 1 of a namespace, which the kernel spares the signals it
	// has no handler for.
	p.Namespaces = []spec.Namespace{spec.NamespaceMount}
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := prog.Start(Attr{Terminal: -1, CgroupFD: -1, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	must(t, syscall.Kill(c.Pid, syscall.SIGUSR1))
	must(t, c.Release())
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.Pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGUSR1 {
		t.Errorf("the child ended with %v (exit %d), want killed by SIGUSR1", ws, ws.ExitStatus())
	}
	select {
	case <-notified:
		t.Error("crun's handler got the child's signal")
	default:
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
	must(t, syscall.Mkfifo(fifo, 0o600))
	target := filepath.Join(root, "secret")
	seen := make(chan os.FileMode, 1)
	go func() {
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
		Source: fifo, Root: root, Target: "/secret", Mode: 0o400}}), Follower{})
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
	r := run(t, testPlan(spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: filepath.Join(dir, "l/wanted")}}), Follower{})
	if r.failure == nil || !strings.Contains(r.failure.Error(), "file name too long") {
		t.Errorf("failure %+v", r.failure)
	}
}

// hardNofile is this process's hard limit on open files.
func hardNofile(t *testing.T) uint64 {
	var lim syscall.Rlimit
	must(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	return lim.Max
}

func uint32p(v uint32) *uint32 { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMissingBindSourceIsNamed: a bind mount whose source is missing (a
// /dev/null after a root switch into a root without /dev) says so, and
// not "check that the path exists" of a target that is there.
func TestMissingBindSourceIsNamed(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "target"), nil, 0o644))
	r := run(t, testPlan(
		spec.Step{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root}},
		spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "/dev/null", Target: "/target", Flags: []string{"bind"}}}), Follower{})
	if r.failure == nil || !strings.Contains(r.failure.Error(), "the bind mount's source /dev/null is missing (the target /target is there)") {
		t.Errorf("failure %v", r.failure)
	}
}

// TestMountIfExists: a mount with IfExists whose source or target is
// missing is skipped, in the container; one whose paths are there is
// made.
func TestMountIfExists(t *testing.T) {
	sdktest.RequireRoot(t)
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "target"), nil, 0o644))
	must(t, os.Mkdir(filepath.Join(root, "dir"), 0o755))
	p := testPlan(
		spec.Step{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: root}},
		spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "/nowhere", Target: "/target", Flags: []string{"bind"}, IfExists: true}},
		spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/missing", IfExists: true}},
		spec.Step{Phase: spec.PhaseConfigure, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs", Target: "/dir", Data: "size=4k", IfExists: true}})
	p.Command = []string{"/nothing"} // the exec fails: only the steps matter
	r := run(t, p, Follower{})
	if r.failure == nil || r.failure.Step != 0 {
		t.Errorf("failure %v, want only the exec's: the missing paths were not skipped", r.failure)
	}
}

// TestCopyFileModeZero: a copy's mode 0 is 0644, the usual mode of a
// file, as Mkdir's 0 is 0755 (one convention across step kinds).
func TestCopyFileModeZero(t *testing.T) {
	sdktest.RequireRoot(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	must(t, os.WriteFile(src, []byte("x"), 0o600))
	target := filepath.Join(dir, "copy")
	p := testPlan(spec.Step{Phase: spec.PhaseMount, CopyFile: &spec.CopyFile{Source: src, Target: target}})
	p.Command = []string{"/nothing"}
	if r := run(t, p, Follower{}); r.failure == nil || r.failure.Step != 0 {
		t.Fatalf("failure %v, want only the exec's", r.failure)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the copy: %v, %v; want mode 0644", fi, err)
	}
}
