package nnp

import (
	"context"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{})
}

func TestContributesNoNewPrivs(t *testing.T) {
	c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{})
	if err != nil || len(c.Steps) != 1 || c.Steps[0].NoNewPrivs == nil || c.Steps[0].Phase != spec.PhaseRestrict {
		t.Fatalf("%+v %v", c, err)
	}
}
