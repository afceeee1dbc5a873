package pid

import (
	"context"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{},
		sdktest.Case{Name: "with mnt", Plugins: []string{"mnt"}},
		sdktest.Case{Name: "with mnt and chroot", Plugins: []string{"mnt", "chroot"}},
	)
}

func TestProcDependsOnNeighbours(t *testing.T) {
	contribute := func(plugins ...string) spec.Contribution {
		c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Plugins: append(plugins, "pid")})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	withMnt := contribute("mnt")
	if len(withMnt.Steps) != 1 || withMnt.Steps[0].Mount == nil || withMnt.Steps[0].Mount.Target != "/proc" {
		t.Fatalf("with mnt: steps %+v, want a /proc mount", withMnt.Steps)
	}
	alone := contribute()
	if len(alone.Steps) != 0 || len(alone.Warnings) != 1 || !strings.Contains(alone.Warnings[0], "/proc is still the host's") {
		t.Fatalf("without mnt: steps %+v, warnings %v", alone.Steps, alone.Warnings)
	}
	withRoot := contribute("mnt", "chroot")
	if len(withRoot.Steps) != 0 || len(withRoot.Warnings) != 0 {
		t.Fatalf("with a root switch: steps %+v, warnings %v; /proc is the root switch's", withRoot.Steps, withRoot.Warnings)
	}
}
