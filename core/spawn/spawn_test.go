package spawn

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// testPlan is a plan in new mount, UTS and PID namespaces whose mount
// tree is made private first, with steps by the plugin "test".
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

// TestCompileDecidesWhatCrunRecords: mounts and mount points on the host
// are announced to crun before they exist, mount points in a named root
// (the rootfs, before the switch) too; the container's own are not.
func TestCompileDecidesWhatCrunRecords(t *testing.T) {
	tmpfs := func(target, root string) spec.Step {
		return spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Source: "tmpfs", FSType: "tmpfs",
			Target: target, Root: root, CreateTarget: true}}
	}
	withMnt := testPlan(tmpfs("/srv/new", ""), tmpfs("/proc", "/rootfs"),
		spec.Step{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: "/rootfs"}}, tmpfs("/run", ""))
	noMnt := testPlan(tmpfs("/srv/new", ""), tmpfs("/proc", "/rootfs"),
		spec.Step{Phase: spec.PhaseRoot, Chroot: &spec.Chroot{Path: "/rootfs"}}, tmpfs("/run", ""))
	noMnt.Namespaces = []spec.Namespace{spec.NamespacePID}
	noMnt.Steps = noMnt.Steps[1:] // no private mount tree without a mount namespace
	for _, c := range []struct {
		name           string
		p              *plan.Plan
		mounts, create []bool
	}{
		{"with a mount namespace", withMnt, []bool{false, false, false, false, false}, []bool{false, true, true, false, false}},
		{"without", noMnt, []bool{true, true, false, true}, []bool{true, true, false, false}},
	} {
		prog, err := Compile(c.p)
		if err != nil {
			t.Fatal(err)
		}
		var mounts, create []bool
		for _, s := range prog.steps {
			mounts, create = append(mounts, s.announceMount), append(create, s.announceCreate)
		}
		if !slices.Equal(mounts, c.mounts) || !slices.Equal(create, c.create) || !prog.announces {
			t.Errorf("%s: announced mounts %v, mount points %v; want %v, %v", c.name, mounts, create, c.mounts, c.create)
		}
	}
}

func TestCompileRefusesWhatItCannotDo(t *testing.T) {
	for _, c := range []struct {
		name string
		step spec.Step
		want string
	}{
		{"no action", spec.Step{Phase: spec.PhaseMount}, `plugin "test": step 2 (`},
		{"a path too long", spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: "/" + strings.Repeat("x", maxPath)}},
			"a path is longer than the kernel takes"},
		{"a mount flag", spec.Step{Phase: spec.PhaseMount, Mount: &spec.Mount{Target: "/x", Flags: []string{"sideways"}}},
			`unknown mount flag "sideways"`},
	} {
		if _, err := Compile(testPlan(c.step)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Compile error %v, want one with %q", c.name, err, c.want)
		}
	}
	if _, err := Compile(&plan.Plan{}); err == nil {
		t.Error("a plan without a command compiled")
	}
}

func TestRelative(t *testing.T) {
	for path, want := range map[string]string{"/": ".", "/dev//pts/": "dev/pts", "/../etc/passwd": "etc/passwd", "tmp": "tmp"} {
		if got := relative(path); got != want {
			t.Errorf("relative(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestFailuresAreWorded(t *testing.T) {
	p := testPlan(spec.Step{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: "/tmp/root"}},
		spec.Step{Phase: spec.PhaseConfigure, Symlink: &spec.Symlink{Target: "pts/ptmx", Link: "/dev/ptmx"}})
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	f := prog.describe(record{Kind: uint32(kindFail), Step: 2, Stage: uint32(stPivot), Errno: uint32(syscall.EINVAL)})
	if f.Step != 2 || f.Plugin != "test" || f.Err.Error() != "pivot_root /tmp/root: invalid argument (is it a mount point, and is / private?)" {
		t.Errorf("pivot_root: %+v", f)
	}
	if want := `plugin "test": step 2 (pivot_root /tmp/root, then detach the old root): pivot_root /tmp/root: invalid argument (is it a mount point, and is / private?)`; f.Error() != want {
		t.Errorf("pivot_root: %q, want %q", f.Error(), want)
	}
	f = prog.describe(record{Kind: uint32(kindFail), Step: 3, Stage: uint32(stStep), Errno: uint32(syscall.EEXIST)})
	if f.Err.Error() != "symlink pts/ptmx /dev/ptmx: file exists" || !errors.Is(f, syscall.EEXIST) {
		t.Errorf("symlink: %+v", f)
	}
	f = prog.describe(record{Kind: uint32(kindFail), Stage: uint32(stNotFound), Errno: uint32(syscall.ENOENT)})
	if f.ExitCode != ExitNotFound || f.Err.Error() != "command not found in the container's PATH=/usr/bin:/bin" || f.Hint != NotFoundHint {
		t.Errorf("not found: %+v", f)
	}
	f = prog.describe(record{Kind: uint32(kindFail), Stage: uint32(stExec), Errno: uint32(syscall.EACCES)})
	if f.ExitCode != ExitCannotExecute || f.What != "exec /usr/bin/true" {
		t.Errorf("exec: %+v", f)
	}
}
