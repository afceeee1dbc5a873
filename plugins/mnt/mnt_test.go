package mnt

import (
	"context"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{})
}

func TestMakesTheTreePrivateFirst(t *testing.T) {
	c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Steps[0]
	if s.Phase != spec.PhasePrepare || s.Mount == nil || s.Mount.Target != "/" ||
		len(s.Mount.Flags) != 2 || s.Mount.Flags[0] != "rec" || s.Mount.Flags[1] != "private" {
		t.Fatalf("first step %+v, want a recursive private remount of / in the prepare phase", s)
	}
}

func TestPropagation(t *testing.T) {
	for value, want := range map[string]string{"slave": "slave", "shared": "shared", "private": "private"} {
		c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"propagation": value}})
		if err != nil || c.Steps[0].Mount.Flags[1] != want || (value != "private") != (len(c.Warnings) == 1) {
			t.Errorf("%s: %+v %v", value, c, err)
		}
	}
	if _, err := (Plugin{}).Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"propagation": "up"}}); err == nil {
		t.Error("propagation=up accepted")
	}
}
