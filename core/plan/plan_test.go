package plan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

func contribution(name string, c spec.Contribution) Contribution {
	return Contribution{Plugin: Plugin{Name: name, Version: "1", Origin: "built-in"}, Contribution: c}
}

func mount(target string, phase spec.Phase) spec.Step {
	return spec.Step{Phase: phase, Mount: &spec.Mount{Source: "x", Target: target, FSType: "tmpfs"}}
}

func TestMergeOrdersStepsByPhaseThenPlugin(t *testing.T) {
	p, err := Merge(Input{Command: []string{"sh"}}, []Contribution{
		contribution("uts", spec.Contribution{
			Namespaces: []spec.Namespace{spec.NamespaceUTS},
			Steps:      []spec.Step{{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "c"}}},
		}),
		contribution("a", spec.Contribution{Steps: []spec.Step{mount("/a1", spec.PhaseMount), mount("/a2", spec.PhaseMount)}}),
		contribution("mnt", spec.Contribution{
			Namespaces: []spec.Namespace{spec.NamespaceMount},
			Steps:      []spec.Step{{Phase: spec.PhasePrepare, Mount: &spec.Mount{Target: "/", Flags: []string{"rec", "private"}}}},
		}),
		contribution("b", spec.Contribution{Steps: []spec.Step{mount("/b1", spec.PhaseMount)}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.Plugin+" "+DescribeStep(s.Step))
	}
	want := []string{
		"mnt mount none on / (rec,private)",
		"a mount x on /a1 type tmpfs",
		"a mount x on /a2 type tmpfs",
		"b mount x on /b1 type tmpfs",
		`uts sethostname "c"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(p.CloneFlags, []string{"CLONE_NEWNS", "CLONE_NEWUTS"}) {
		t.Errorf("clone flags %v", p.CloneFlags)
	}
}

func TestMergeHostStepsCleanupMirrorsSetup(t *testing.T) {
	host := func(point spec.HookPoint, path string) spec.HostStep {
		return spec.HostStep{Point: point, Mkdir: &spec.Mkdir{Path: path}}
	}
	p, err := Merge(Input{Command: []string{"sh"}}, []Contribution{
		contribution("first", spec.Contribution{HostSteps: []spec.HostStep{
			host(spec.HookAfterExit, "/first-exit-1"), host(spec.HookAfterExit, "/first-exit-2"),
			host(spec.HookBeforeClone, "/first-before"),
		}}),
		contribution("second", spec.Contribution{HostSteps: []spec.HostStep{
			host(spec.HookAfterExit, "/second-exit"), host(spec.HookAfterClone, "/second-after-clone"),
		}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range p.HostSteps {
		got = append(got, h.Mkdir.Path)
	}
	want := []string{"/first-before", "/second-after-clone", "/second-exit", "/first-exit-1", "/first-exit-2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("host steps %v, want %v", got, want)
	}
}

func TestMergeRefuses(t *testing.T) {
	tests := []struct {
		name string
		c    []Contribution
		want string
	}{
		{"a step needing a namespace nobody enabled",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{
				{Phase: spec.PhaseConfigure, Requires: []spec.Namespace{spec.NamespaceNet}, Chdir: &spec.Chdir{Path: "/"}}}})},
			`plugin "x": step chdir needs the net namespace, which no enabled plugin provides`},
		{"sethostname without uts would rename the host",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{
				{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "h"}}}})},
			`needs the uts namespace`},
		{"pivot_root without mnt would move the host's root",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{
				{Phase: spec.PhaseRoot, PivotRoot: &spec.PivotRoot{Path: "/r"}}}})},
			`needs the mnt namespace`},
		{"a step with no action",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseMount}}})},
			`plugin "x" returned an invalid contribution: step 1: no action crun knows`},
		{"a step with two actions",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseMount,
				Chdir: &spec.Chdir{Path: "/"}, Chroot: &spec.Chroot{Path: "/"}}}})},
			`several actions in one step (chdir, chroot)`},
		{"an unknown phase",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{{Phase: "later", Chdir: &spec.Chdir{Path: "/"}}}})},
			`unknown phase "later"`},
		{"an unknown namespace",
			[]Contribution{contribution("x", spec.Contribution{Namespaces: []spec.Namespace{"time"}})},
			`unknown namespace "time"`},
		{"a relative mount target",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{mount("proc", spec.PhaseMount)}})},
			`path "proc" is not absolute`},
		{"an unknown mount flag",
			[]Contribution{contribution("x", spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseMount,
				Mount: &spec.Mount{Target: "/x", Flags: []string{"nosuchflag"}}}}})},
			`unknown flag "nosuchflag"`},
		{"an id map without a user namespace",
			[]Contribution{contribution("x", spec.Contribution{HostSteps: []spec.HostStep{idMap(spec.IDRange{Size: 1})}})},
			`plugin "x": host step id_map needs the user namespace`},
		{"an id map before the child exists",
			[]Contribution{contribution("x", spec.Contribution{HostSteps: []spec.HostStep{{Point: spec.HookBeforeClone,
				IDMap: &spec.IDMap{UIDs: []spec.IDRange{{Size: 1}}, GIDs: []spec.IDRange{{Size: 1}}}}}})},
			`id_map: only possible at after-clone`},
		{"a user change to an unmapped uid",
			[]Contribution{
				contribution("user", spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceUser},
					HostSteps: []spec.HostStep{idMap(spec.IDRange{Container: 0, Host: 100000, Size: 1000})}}),
				contribution("runas", spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseRestrict, SetUser: &spec.SetUser{UID: 1000, GID: 0}}}})},
			`plugin "runas": step set_user: uid 1000 is not mapped in the user namespace (plugin "user" maps uids 0:100000:1000`},
		{"a user change to an unmapped supplementary group",
			[]Contribution{
				contribution("user", spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceUser},
					HostSteps: []spec.HostStep{idMap(spec.IDRange{Container: 0, Host: 100000, Size: 1000})}}),
				contribution("runas", spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseRestrict, SetUser: &spec.SetUser{UID: 5, GID: 5, Groups: []uint32{6, 5000}}}}})},
			`gid 5000 is not mapped`},
		{"two id maps",
			[]Contribution{
				contribution("a", spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceUser},
					HostSteps: []spec.HostStep{idMap(spec.IDRange{Size: 1})}}),
				contribution("b", spec.Contribution{HostSteps: []spec.HostStep{idMap(spec.IDRange{Size: 1})}})},
			`plugins "a" and "b" both map the user namespace's ids`},
		{"write_pid before the child exists",
			[]Contribution{contribution("x", spec.Contribution{HostSteps: []spec.HostStep{{Point: spec.HookBeforeClone,
				WritePid: &spec.WritePid{Path: "/x"}}}})},
			`only possible at after-clone`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(Input{Command: []string{"sh"}}, tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Merge() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMergeEnvironment(t *testing.T) {
	p, err := Merge(Input{
		Command: []string{"sh"},
		BaseEnv: []string{"PATH=/bin", "HOSTNAME=host"},
		UserEnv: []string{"HOSTNAME=user", "X=1"},
	}, []Contribution{contribution("uts", spec.Contribution{Env: []string{"HOSTNAME=plugin", "P=2"}})})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/bin", "HOSTNAME=user", "P=2", "X=1"}
	if !reflect.DeepEqual(p.Env, want) {
		t.Fatalf("env %v, want %v (--env wins over plugins, plugins over defaults)", p.Env, want)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	p, err := Merge(Input{ContainerID: "c1", Command: []string{"sh", "-c", "x"}}, []Contribution{
		contribution("mnt", spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceMount},
			Steps: []spec.Step{{Phase: spec.PhasePrepare, Mount: &spec.Mount{Target: "/", Flags: []string{"rec", "private"}}}}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip changed the plan:\n%+v\n%+v", p, q)
	}
	if _, err := Decode([]byte(`{"format_version": 99}`)); err == nil {
		t.Fatal("a plan of another format was accepted")
	}
}

// idMap is an after-clone id map of the same range for uids and gids.
func idMap(r spec.IDRange) spec.HostStep {
	return spec.HostStep{Point: spec.HookAfterClone, IDMap: &spec.IDMap{UIDs: []spec.IDRange{r}, GIDs: []spec.IDRange{r}}}
}
