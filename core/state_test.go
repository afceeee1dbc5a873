package core

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// TestStateFileRoundTrip: the hand-written JSON of a state file is JSON
// (encoding/json reads it), and reads back as the state that was written,
// whatever its strings hold.
func TestStateFileRoundTrip(t *testing.T) {
	s := &State{
		ContainerID: "web-1",
		Owner:       4242,
		Mounts:      []HostMount{{Path: "/srv/a \"quoted\" \\ back\tslash\x01\n", Below: 2}, {Path: "/ünïcode/☃"}},
		Created:     []string{"/mnt/x", "/mnt/x/y"},
		AfterExit: []plan.HostStep{
			{Plugin: "cgroup", HostStep: spec.HostStep{Point: spec.HookAfterExit, Why: "kill", KillCgroup: &spec.KillCgroup{Path: "/sys/fs/cgroup/pids/crun/web-1"}}},
			{Plugin: "cgroup", HostStep: spec.HostStep{Point: spec.HookAfterExit, RemoveDir: &spec.RemoveDir{Path: "/sys/fs/cgroup/pids/crun/web-1"}}},
		},
	}
	b, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("not JSON: %s", b)
	}
	got, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read back\n%+v\nwrote\n%+v\nfile %s", got, s, b)
	}
	// Nothing but what is needed.
	empty, _ := (&State{ContainerID: "x", Owner: 1}).encode()
	if string(empty) != `{"container_id":"x","owner":1}`+"\n" {
		t.Errorf("an empty state: %s", empty)
	}
}

// TestStateFileOfAnOlderCrun: a crun killed before an upgrade left its
// after-exit steps as a JSON array; they are still undone.
func TestStateFileOfAnOlderCrun(t *testing.T) {
	old := `{"container_id":"c","owner":7,"after_exit":[{"plugin":"cgroup","point":"after-exit","remove_dir":{"path":"/sys/fs/cgroup/pids/crun/c"}}]}`
	s, err := decodeState([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.AfterExit) != 1 || s.AfterExit[0].RemoveDir == nil || s.AfterExit[0].RemoveDir.Path != "/sys/fs/cgroup/pids/crun/c" {
		t.Errorf("after-exit steps: %+v", s.AfterExit)
	}
}
