package core

import (
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// FuzzDecodeState: no state file content makes the reader panic, and a
// state it reads writes back as one it reads the same.
func FuzzDecodeState(f *testing.F) {
	s := &State{ContainerID: "web-1", Owner: 42, Mounts: []HostMount{{Path: "/srv/a b", Below: 1}}, Created: []HostPath{"/mnt/x"},
		AfterExit: []plan.HostStep{{Plugin: "cgroup", HostStep: spec.HostStep{Point: spec.HookAfterExit, RemoveDir: &spec.RemoveDir{Path: "/sys/fs/cgroup/x"}}}}}
	f.Add(s.encode())
	f.Add([]byte(`{"container_id":"x","owner":1}`))
	f.Add([]byte(`{"container_id":"\u0000","mounts":[{"path":"\\x","below":-1}]}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err != nil {
			return
		}
		again, err := decodeState(st.encode())
		if err != nil {
			t.Fatalf("a state read back does not read again: %v\n%s", err, st.encode())
		}
		st.path, again.path = "", ""
		if !reflect.DeepEqual(normalize(st), normalize(again)) {
			t.Fatalf("a state changes when written and read again:\n%+v\n%+v", st, again)
		}
	})
}

// normalize makes empty and nil lists alike (the file leaves empty ones
// out).
func normalize(s *State) State {
	c := *s
	if len(c.Mounts) == 0 {
		c.Mounts = nil
	}
	if len(c.Created) == 0 {
		c.Created = nil
	}
	if len(c.AfterExit) == 0 {
		c.AfterExit = nil
	}
	return c
}

// FuzzCacheEntry: no cache entry body makes crun panic; one it uses
// holds a valid plan.
func FuzzCacheEntry(f *testing.F) {
	wire, err := plan.Marshal(&plan.Plan{FormatVersion: plan.FormatVersion, ContainerID: placeholderID, Command: []string{"true"}})
	if err != nil {
		f.Fatal(err)
	}
	good := "{}\n" + base64.StdEncoding.EncodeToString(wire) + "\n"
	f.Add([]byte(good))
	f.Add([]byte(good[:len(good)/2]))
	f.Add([]byte("{\"/nonexistent\":\"missing\"}\n\n"))
	f.Add([]byte("{}\n!!!\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		h := &cacheHit{key: "fuzz", body: body}
		if p := h.plan("crun-fuzz"); p != nil {
			if err := p.Validate(); err != nil {
				t.Fatalf("a cache entry's plan is used, and invalid: %v", err)
			}
		}
	})
}
