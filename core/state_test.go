package core

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// fill sets every field of v, recursively, to a value that is not zero
// (strings from text).
func fill(v reflect.Value, text string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), text)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), text+"-"+v.Type().Field(i).Name)
			}
		}
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint64:
		v.Set(reflect.ValueOf(7).Convert(v.Type()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), text)
	default:
		panic("fill: " + v.Kind().String())
	}
}

// TestStateFileRoundTrip: the state file written by hand is the JSON
// encoding/json writes for the state, every field of every host step
// included, and reads back as the state that was written.
func TestStateFileRoundTrip(t *testing.T) {
	var full plan.HostStep
	fill(reflect.ValueOf(&full).Elem(), "x")
	// An id map is an after-clone step only (spec.HostStep.Validate):
	// never one a state file holds.
	full.IDMap = nil
	s := &State{
		Version:     stateVersion,
		ContainerID: "web-1",
		Owner:       4242,
		Mounts:      []HostMount{{Path: "/srv/a", Below: 2}, {Path: "/srv/b"}, {Path: "/srv/\x80c", ID: 1 << 40, UniqueID: true}, {Path: "/srv/d", ID: 31}},
		Created:     []HostPath{"/mnt/x", "/mnt/x/y", "/mnt/not-utf8-\xff\xfe"},
		Roots:       []HostPath{"/srv/rootfs", "/srv/\xe9"},
		AfterExit: []plan.HostStep{full,
			{Plugin: "cgroup", HostStep: spec.HostStep{Point: spec.HookAfterExit, RemoveDir: &spec.RemoveDir{Path: "/sys/fs/cgroup/pids/crun/web-1"}}},
			{Plugin: "p", HostStep: spec.HostStep{Point: spec.HookAfterExit, Mkdir: &spec.Mkdir{Path: "/d"}, Report: &spec.Report{Path: "/r"}, Hook: &spec.Hook{}}},
		},
	}
	s.HookPlugins = map[string]HookPlugin{"net": {Origin: "/usr/lib/crun/crun-plugin-net", Options: map[string]string{"z": "1", "a": "\"2\""}}, "b": {Origin: "built-in"}}
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.encode(); string(got) != string(want)+"\n" {
		t.Errorf("by hand:\n%s\nencoding/json:\n%s", got, want)
	}
	back, err := decodeState(s.encode())
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("read back %+v (%v), wrote %+v", back, err, s)
	}
	if empty := (&State{Version: 3, ContainerID: "x", Owner: 1}).encode(); string(empty) != `{"version":3,"container_id":"x","owner":1}`+"\n" {
		t.Errorf("an empty state: %s", empty)
	}
}

// TestStateFileStrings: strings are escaped for JSON; what encoding/json
// reads back is what was written.
func TestStateFileStrings(t *testing.T) {
	for _, str := range []string{`quotes " and \ backslash`, "tab\tnewline\n\x01\x1f\x7f", "ünïcode ☃ \u2028", "<html> & co", ""} {
		s := &State{ContainerID: str, Created: []HostPath{HostPath(str)}, Mounts: []HostMount{{Path: HostPath(str)}},
			AfterExit: []plan.HostStep{{Plugin: str, HostStep: spec.HostStep{Point: spec.HookPoint(str), Why: str,
				WriteFile: &spec.WriteFile{Path: str, Content: str}}}}}
		b := s.encode()
		back, err := decodeState(b)
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Errorf("%q: read back %+v (%v) from %s", str, back, err, b)
		}
		if strings.Count(string(b), "\n") != 1 {
			t.Errorf("%q: a raw newline in %q", str, b)
		}
	}
}

// TestStateFilesOfEarlierVersions: files of older cruns (no version; the
// after-exit steps as a JSON array, or for a few commits as base64 of the
// plan's wire form) are still read, and undone; a file of a newer crun is
// left for it.
func TestStateFilesOfEarlierVersions(t *testing.T) {
	removeDir := plan.HostStep{Plugin: "cgroup", HostStep: spec.HostStep{Point: spec.HookAfterExit, RemoveDir: &spec.RemoveDir{Path: "/sys/fs/cgroup/pids/crun/old"}}}
	want := &State{ContainerID: "old", Owner: 12, Mounts: []HostMount{{Path: "/srv/a", Below: 1}},
		Created: []HostPath{"/mnt/x"}, AfterExit: []plan.HostStep{removeDir}}

	array := `{"container_id":"old","owner":12,"mounts":[{"path":"/srv/a","below":1}],"created":["/mnt/x"],` +
		`"after_exit":[{"plugin":"cgroup","point":"` + string(spec.HookAfterExit) + `","remove_dir":{"path":"/sys/fs/cgroup/pids/crun/old"}}]}`
	wire, err := plan.Marshal(&plan.Plan{HostSteps: []plan.HostStep{removeDir}})
	if err != nil {
		t.Fatal(err)
	}
	wireForm := `{"container_id":"old","owner":12,"mounts":[{"path":"/srv/a","below":1}],"created":["/mnt/x"],"after_exit":"` +
		base64.StdEncoding.EncodeToString(wire) + `"}`
	for name, file := range map[string]string{"array": array, "wire form": wireForm} {
		got, err := decodeState([]byte(file))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %+v (%v), want %+v", name, got, err, want)
		}
	}

	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.json")
	if err := os.WriteFile(newer, []byte(`{"version":99,"container_id":"future","mounts":[{"path":"/srv/a","below":0,"how":"new"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := lockState(newer)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cleanup(nil); !errors.Is(err, errNewerState) || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("cleanup of a newer state file: %v", err)
	}
	s.release()
	if _, err := os.Stat(newer); err != nil {
		t.Errorf("a newer crun's state file is gone: %v", err)
	}
}
