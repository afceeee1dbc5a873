package cgroup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

// fakeV2 makes a directory with the file layout of a cgroup v2 root.
func fakeV2(t *testing.T, controllers string) string {
	root := t.TempDir()
	for name, content := range map[string]string{
		"cgroup.controllers": controllers, "cgroup.subtree_control": "", "cgroup.procs": "1\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fakeV1 makes a directory with cgroup v1 hierarchies.
func fakeV1(t *testing.T, controllers ...string) string {
	root := t.TempDir()
	for _, c := range controllers {
		os.MkdirAll(filepath.Join(root, c), 0o755)
		os.WriteFile(filepath.Join(root, c, "cgroup.procs"), nil, 0o644)
	}
	return root
}

func contribute(t *testing.T, opts map[string]string) (spec.Contribution, error) {
	t.Helper()
	all := map[string]string{"pids-max": DefaultPidsMax, "parent": "crun", "stats": "false", "version": "auto"}
	for k, v := range opts {
		all[k] = v
	}
	return Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: all, ContainerID: "c1", Plugins: []string{"cgroup"}})
}

// script prints the host steps as crun plan does.
func script(c spec.Contribution) string {
	var lines []string
	for _, h := range c.HostSteps {
		lines = append(lines, string(h.Point)+" "+plan.DescribeHostStep(h))
	}
	return strings.Join(lines, "\n")
}

func TestConformance(t *testing.T) {
	root := fakeV2(t, "cpu memory pids")
	sdktest.Conformance(t, Plugin{},
		sdktest.Case{Name: "v2 limits", Options: map[string]string{"root": root, "version": "2", "pids-max": "20", "memory": "64M", "cpus": "0.5", "stats": "true"}},
		sdktest.Case{Name: "bad pids", Options: map[string]string{"root": root, "version": "2", "pids-max": "-1"}, WantErr: true},
		sdktest.Case{Name: "tiny memory", Options: map[string]string{"root": root, "version": "2", "memory": "10K"}, WantErr: true},
		sdktest.Case{Name: "bad version", Options: map[string]string{"root": root, "version": "3"}, WantErr: true},
	)
}

func TestV2Plan(t *testing.T) {
	root := fakeV2(t, "cpuset cpu io memory hugetlb pids")
	c, err := contribute(t, map[string]string{"root": root, "version": "2", "parent": "a/b",
		"pids-max": "20", "memory": "64M", "cpus": "0.5", "stats": "true"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(`before-clone write "+pids +memory +cpu" to ROOT/cgroup.subtree_control
before-clone mkdir -p ROOT/a
before-clone write "+pids +memory +cpu" to ROOT/a/cgroup.subtree_control
before-clone mkdir -p ROOT/a/b
before-clone write "+pids +memory +cpu" to ROOT/a/b/cgroup.subtree_control
before-clone mkdir -p ROOT/a/b/c1
before-clone write "20" to ROOT/a/b/c1/pids.max
before-clone write "67108864" to ROOT/a/b/c1/memory.max
before-clone write "0" to ROOT/a/b/c1/memory.swap.max, if it exists
before-clone write "50000 100000" to ROOT/a/b/c1/cpu.max
after-clone write the container's pid to ROOT/a/b/c1/cgroup.procs
after-exit report "peak processes": ROOT/a/b/c1/pids.peak
after-exit report "peak memory": ROOT/a/b/c1/memory.peak
after-exit report "CPU time": ROOT/a/b/c1/cpu.stat usage_usec
after-exit report "the memory limit (64M) was hit: processes killed by the OOM killer": ROOT/a/b/c1/memory.events oom_kill
after-exit kill every process left in the cgroup ROOT/a/b/c1
after-exit rmdir ROOT/a/b/c1`, "ROOT", root)
	if got := script(c); got != want {
		t.Errorf("v2 host steps:\n%s\nwant:\n%s", got, want)
	}
	if c.CloneIntoCgroup != filepath.Join(root, "a/b/c1") {
		t.Errorf("clone into %q", c.CloneIntoCgroup)
	}
}

func TestV2Refusals(t *testing.T) {
	root := fakeV2(t, "cpu memory")
	if _, err := contribute(t, map[string]string{"root": root, "version": "2"}); err == nil ||
		!strings.Contains(err.Error(), "needs the pids controller, which the cgroup v2 hierarchy at "+root+" does not offer (cgroup.controllers: cpu memory)") {
		t.Errorf("missing controller: %v", err)
	}
	root = fakeV2(t, "pids")
	os.Mkdir(filepath.Join(root, "busy"), 0o755)
	os.WriteFile(filepath.Join(root, "busy", "cgroup.procs"), []byte("42\n"), 0o644)
	if _, err := contribute(t, map[string]string{"root": root, "version": "2", "parent": "busy"}); err == nil ||
		!strings.Contains(err.Error(), "no-internal-process rule") {
		t.Errorf("a parent with processes: %v", err)
	}
	if _, err := contribute(t, map[string]string{"root": root, "version": "2", "parent": "../etc"}); err == nil {
		t.Errorf("a parent with .. was accepted")
	}
}

func TestV1Plan(t *testing.T) {
	root := fakeV1(t, "pids", "memory", "cpu", "cpuacct")
	c, err := contribute(t, map[string]string{"root": root, "version": "1", "pids-max": "20", "memory": "64M", "cpus": "0.5"})
	if err != nil {
		t.Fatal(err)
	}
	got := script(c)
	for _, want := range []string{
		`before-clone mkdir -p ROOT/pids/crun/c1`,
		`before-clone write "0" to ROOT/pids/crun/c1/notify_on_release`,
		`before-clone write "20" to ROOT/pids/crun/c1/pids.max`,
		`before-clone write "67108864" to ROOT/memory/crun/c1/memory.limit_in_bytes`,
		`before-clone write "67108864" to ROOT/memory/crun/c1/memory.memsw.limit_in_bytes, if it exists`,
		`before-clone write "50000" to ROOT/cpu/crun/c1/cpu.cfs_quota_us`,
		`after-exit kill every process left in the cgroup ROOT/memory/crun/c1`,
		`after-exit rmdir ROOT/pids/crun/c1`,
	} {
		if want = strings.ReplaceAll(want, "ROOT", root); !strings.Contains(got, want) {
			t.Errorf("v1 host steps lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "release_agent") {
		t.Errorf("the plan touches release_agent:\n%s", got)
	}
	if c.CloneIntoCgroup != "" {
		t.Errorf("v1 cannot clone into a cgroup")
	}
	// The init joins each hierarchy's cgroup itself, first of all.
	var joins []string
	for _, s := range c.Steps {
		if s.JoinCgroup != nil && s.Phase == spec.PhasePrepare {
			joins = append(joins, strings.TrimPrefix(s.JoinCgroup.Path, root))
		}
	}
	if strings.Join(joins, " ") != "/pids/crun/c1 /memory/crun/c1 /cpu/crun/c1" {
		t.Errorf("joins %v", joins)
	}
	if _, err := contribute(t, map[string]string{"root": fakeV1(t, "pids"), "version": "1", "memory": "64M"}); err == nil ||
		!strings.Contains(err.Error(), "needs the memory controller, which is not mounted under") {
		t.Errorf("missing v1 controller: %v", err)
	}
}
