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
		if got := expandPresets(c.req); !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.req.Plugins, got, c.want)
		}
	}
}
