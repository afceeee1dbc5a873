package main

import (
	"slices"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, IPC{},
		sdktest.Case{Name: "with mnt", Plugins: []string{"mnt"}},
		sdktest.Case{Name: "with chroot", Plugins: []string{"mnt", "chroot"}},
	)
}

func TestContribute(t *testing.T) {
	for _, tc := range []struct {
		plugins     []string
		wantWarning bool
	}{
		{plugins: []string{"ipc"}, wantWarning: true},
		{plugins: []string{"mnt", "ipc"}, wantWarning: true},
		{plugins: []string{"mnt", "chroot", "ipc"}},
	} {
		c, err := IPC{}.Contribute(sdktest.Context(t), spec.ContributeRequest{Plugins: tc.plugins, Options: map[string]string{}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Namespaces, []spec.Namespace{spec.NamespaceIPC}) {
			t.Errorf("%v: namespaces %v, want ipc alone", tc.plugins, c.Namespaces)
		}
		if len(c.Steps) != 0 || len(c.HostSteps) != 0 || len(c.Env) != 0 {
			t.Errorf("%v: %+v, want nothing but the namespace: a clone flag needs no step", tc.plugins, c)
		}
		if got := len(c.Warnings) > 0; got != tc.wantWarning {
			t.Errorf("%v: warnings %q, want a warning about /dev/shm: %v", tc.plugins, c.Warnings, tc.wantWarning)
		}
	}
}
