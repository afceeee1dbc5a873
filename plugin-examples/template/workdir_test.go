package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

// These tests need neither root nor a crun binary: sdktest serves the
// plugin in-process over the same gRPC crun uses.

// TestConformance is the first test every plugin should have: it checks
// the description and that every case is answered as crun requires.
func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Workdir{},
		sdktest.Case{Name: "absolute", Options: map[string]string{"path": "/srv/app"}},
		sdktest.Case{Name: "relative", Options: map[string]string{"path": "srv/app"}},
		sdktest.Case{Name: "with chroot", Options: map[string]string{"path": "/srv"}, Plugins: []string{"mnt", "chroot"}},
		sdktest.Case{Name: "empty", Options: map[string]string{"path": ""}, WantErr: true},
		sdktest.Case{Name: "NUL byte", Options: map[string]string{"path": "/a\x00b"}, WantErr: true},
	)
}

// TestContribute checks the plan the plugin asks for, option by option.
func TestContribute(t *testing.T) {
	for _, tc := range []struct {
		path, wantDir string
		wantWarning   bool
	}{
		{path: "/", wantDir: "/"},
		{path: "/srv/app/", wantDir: "/srv/app"},
		{path: "/srv/../tmp", wantDir: "/tmp"},
		{path: "srv/app", wantDir: "/srv/app", wantWarning: true},
		{path: "../../etc", wantDir: "/etc", wantWarning: true},
	} {
		c, err := Workdir{}.Contribute(sdktest.Context(t), spec.ContributeRequest{
			Options: map[string]string{"path": tc.path}, Plugins: []string{"workdir"},
		})
		if err != nil {
			t.Errorf("path %q: %v", tc.path, err)
			continue
		}
		if len(c.Namespaces) != 0 {
			t.Errorf("path %q: namespaces %v, want none: a working directory needs no namespace", tc.path, c.Namespaces)
		}
		if len(c.Steps) != 1 || c.Steps[0].Chdir == nil || c.Steps[0].Chdir.Path != tc.wantDir {
			t.Errorf("path %q: steps %+v, want one chdir to %s", tc.path, c.Steps, tc.wantDir)
		} else if c.Steps[0].Phase != spec.PhaseConfigure {
			t.Errorf("path %q: chdir in phase %s, want configure (after the root switch)", tc.path, c.Steps[0].Phase)
		}
		if !slices.Equal(c.Env, []string{"PWD=" + tc.wantDir}) {
			t.Errorf("path %q: env %v, want PWD=%s", tc.path, c.Env, tc.wantDir)
		}
		if got := len(c.Warnings) > 0; got != tc.wantWarning {
			t.Errorf("path %q: warnings %q, want a warning: %v", tc.path, c.Warnings, tc.wantWarning)
		}
	}
}

// TestOverGRPC talks to the plugin as crun does, and shows what crun gets
// back when the plugin refuses an option: the plugin's own message, in a
// *sdktest.PluginError naming the plugin.
func TestOverGRPC(t *testing.T) {
	ctx := sdktest.Context(t)
	remote := sdktest.Serve(t, Workdir{})

	d, err := remote.Describe(ctx, "workdir")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Options) != 1 || d.Options[0].Name != "path" || d.Options[0].Default != "/" {
		t.Errorf("options %+v, want path with default /", d.Options)
	}

	c, err := remote.Contribute(ctx, "workdir", spec.ContributeRequest{
		Options: map[string]string{"path": "tmp"}, Plugins: []string{"workdir"}, ContainerID: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "relative") {
		t.Errorf("warnings %q, want one about the relative path", c.Warnings)
	}

	_, err = remote.Contribute(ctx, "workdir", spec.ContributeRequest{
		Options: map[string]string{"path": ""}, Plugins: []string{"workdir"}, ContainerID: "test",
	})
	var pe *sdktest.PluginError
	if !errors.As(err, &pe) || pe.Plugin != "workdir" || pe.Transport {
		t.Fatalf("error %v (%T), want the plugin's own refusal as a *sdktest.PluginError", err, err)
	}
	if !strings.Contains(err.Error(), "option path is empty") {
		t.Errorf("error %q does not carry the plugin's message", err)
	}
}
