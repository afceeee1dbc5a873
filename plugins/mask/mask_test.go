package mask

import (
	"context"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{})
}

func TestDockersListsAndMore(t *testing.T) {
	c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{
		"hide": "/proc/cpuinfo,/proc/kcore", "readonly": "/proc/x\n/proc/y"}})
	if err != nil {
		t.Fatal(err)
	}
	var hidden, readOnly []string
	for _, s := range c.Steps {
		if s.Phase != spec.PhaseConfigure || s.Mask == nil || len(s.Requires) != 1 || s.Requires[0] != spec.NamespaceMount {
			t.Fatalf("step %+v", s)
		}
		if s.Mask.ReadOnly {
			readOnly = append(readOnly, s.Mask.Path)
		} else {
			hidden = append(hidden, s.Mask.Path)
		}
	}
	if got := strings.Join(hidden, " "); got != strings.Join(Hidden, " ")+" /proc/cpuinfo" {
		t.Errorf("hidden %s", got)
	}
	if got := strings.Join(readOnly, " "); got != strings.Join(ReadOnly, " ")+" /proc/x /proc/y" {
		t.Errorf("read-only %s", got)
	}
	if _, err := (Plugin{}).Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"hide": "proc/x"}}); err == nil ||
		!strings.Contains(err.Error(), "option hide") {
		t.Errorf("a relative path: %v", err)
	}
}
