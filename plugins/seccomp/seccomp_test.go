package seccomp

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{})
}

// names lists the system calls a profile allows.
func allowed(s *spec.Seccomp) []string {
	var names []string
	for _, r := range s.Syscalls {
		if r.Action == "SCMP_ACT_ALLOW" && len(r.Args) == 0 {
			names = append(names, r.Names...)
		}
	}
	return names
}

// TestDockersProfileFollowsTheCapabilities: Docker's profile lets mount
// through only to a container that keeps CAP_SYS_ADMIN.
func TestDockersProfileFollowsTheCapabilities(t *testing.T) {
	for _, c := range []struct {
		req   spec.ContributeRequest
		mount bool
	}{
		{spec.ContributeRequest{Plugins: []string{"seccomp"}, Options: map[string]string{}}, true},
		{spec.ContributeRequest{Plugins: []string{"caps", "seccomp"}, Options: map[string]string{}}, false},
		{spec.ContributeRequest{Plugins: []string{"caps", "seccomp"}, Options: map[string]string{"caps": "SYS_ADMIN,chown"}}, true},
	} {
		contrib, err := Plugin{}.Contribute(context.Background(), c.req)
		if err != nil {
			t.Fatal(err)
		}
		s := contrib.Steps[0].Seccomp
		if s.DefaultAction != "SCMP_ACT_ERRNO" || !slices.Contains(allowed(s), "read") {
			t.Fatalf("not Docker's profile: default %s", s.DefaultAction)
		}
		if got := slices.Contains(allowed(s), "mount"); got != c.mount {
			t.Errorf("%v %v: mount allowed %v, want %v", c.req.Plugins, c.req.Options, got, c.mount)
		}
	}
}

func TestAProfileFromAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profile.json")
	os.WriteFile(path, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}`), 0o644)
	c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"profile": path}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Steps[0].Seccomp
	if s.DefaultAction != "SCMP_ACT_ALLOW" || len(s.Syscalls) != 1 || *s.Syscalls[0].Errno != 13 || !slices.Equal(c.DependsOn, []string{path}) {
		t.Errorf("%+v, depends on %v", s, c.DependsOn)
	}
	os.WriteFile(path, []byte(`{"defaultAction":`), 0o644)
	if _, err := (Plugin{}).Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"profile": path}}); err == nil ||
		!strings.Contains(err.Error(), "option profile: "+path) {
		t.Errorf("a broken profile: %v", err)
	}
}
