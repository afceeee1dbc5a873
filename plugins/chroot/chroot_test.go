package chroot

import (
	"context"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

func contribute(t *testing.T, opts map[string]string) (spec.Contribution, error) {
	t.Helper()
	if opts["rootfs"] == "" {
		opts["rootfs"] = t.TempDir()
	}
	return Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Plugins: []string{"mnt", "chroot"}, Options: opts})
}

// TestWorkdir: the chdir comes after the root switch (the path is the
// container's), in the configure phase, and only when it is not "/".
func TestWorkdir(t *testing.T) {
	c, err := contribute(t, map[string]string{"workdir": "/srv/app/"})
	if err != nil {
		t.Fatal(err)
	}
	root, chdir := -1, -1
	for i, s := range c.Steps {
		switch {
		case s.PivotRoot != nil:
			root = i
		case s.Chdir != nil:
			chdir = i
			if s.Chdir.Path != "/srv/app" || s.Phase != spec.PhaseConfigure {
				t.Errorf("chdir step %+v, want /srv/app in the configure phase", s)
			}
		}
	}
	if root < 0 || chdir < root {
		t.Errorf("pivot_root at %d, chdir at %d: want the chdir after the root switch", root, chdir)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}

	for _, w := range []string{"", "/", "//"} {
		c, err := contribute(t, map[string]string{"workdir": w})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Steps {
			if s.Chdir != nil {
				t.Errorf("workdir %q: a chdir step %+v (the root switch already leaves the process in /)", w, s)
			}
		}
	}

	if _, err := contribute(t, map[string]string{"workdir": "srv"}); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("a relative workdir: %v", err)
	}
}
