package core

import (
	"slices"
	"testing"
)

func TestExpandPresets(t *testing.T) {
	base := []string{"uts", "pid", "mnt", "cgroup", "caps", "nnp", "seccomp", "mask"}
	for _, c := range []struct {
		req  Request
		want []string
	}{
		{Request{Plugins: []string{"default"}}, base},
		{Request{Plugins: []string{"default"}, Options: []Option{{Plugin: "chroot", Key: "rootfs", Value: "/r"}}}, append(slices.Clone(base), "chroot")},
		// More plugins after it; one it has already is not listed twice.
		{Request{Plugins: []string{"default", "net", "uts"}}, append(slices.Clone(base), "net")},
		{Request{Plugins: []string{"net", "default"}}, append([]string{"net"}, base...)},
		{Request{Plugins: []string{"uts", "pid"}}, []string{"uts", "pid"}},
	} {
		if got, _ := expandPresets(c.req, caller{root: true, cgroupWritable: true}); !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.req.Plugins, got, c.want)
		}
	}
}

// TestDefaultPresetForAnOrdinaryUser: a user namespace first, and no
// cgroup (with a warning) unless one is delegated.
func TestDefaultPresetForAnOrdinaryUser(t *testing.T) {
	req := Request{Plugins: []string{"default"}}
	got, warnings := expandPresets(req, caller{})
	want := []string{"user", "uts", "pid", "mnt", "caps", "nnp", "seccomp", "mask"}
	if !slices.Equal(got, want) || len(warnings) != 1 || warnings[0].Plugin != "default" {
		t.Errorf("got %v %v, want %v and one warning", got, warnings, want)
	}
	got, warnings = expandPresets(req, caller{cgroupWritable: true})
	want = []string{"user", "uts", "pid", "mnt", "cgroup", "caps", "nnp", "seccomp", "mask"}
	if !slices.Equal(got, want) || len(warnings) != 0 {
		t.Errorf("delegated: got %v %v, want %v and no warning", got, warnings, want)
	}
}
