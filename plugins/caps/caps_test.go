package caps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{})
}

func TestSet(t *testing.T) {
	for _, c := range []struct {
		add, drop []string
		want      []string
		err       string
	}{
		{nil, nil, Default, ""},
		{[]string{"net_raw"}, []string{"CAP_KILL", "chown"}, []string{"CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
			"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_SETFCAP"}, ""},
		{[]string{"kill"}, []string{"ALL"}, []string{"CAP_KILL"}, ""},
		{nil, []string{"all"}, []string{}, ""},
		{[]string{"CAP_FLY"}, nil, nil, `option add: unknown capability "CAP_FLY"`},
		{nil, []string{"fly"}, nil, `option drop: unknown capability "fly"`},
	} {
		got, err := Set(c.add, c.drop)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("add %v drop %v: error %v, want %q", c.add, c.drop, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("add %v drop %v: %v %v, want %v", c.add, c.drop, got, err, c.want)
		}
	}
}

func TestContributesOneRestrictStep(t *testing.T) {
	c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"add": "sys_admin\nnet_raw", "drop": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Steps) != 1 || c.Steps[0].Phase != spec.PhaseRestrict || c.Steps[0].Capabilities == nil {
		t.Fatalf("steps %+v", c.Steps)
	}
	caps := c.Steps[0].Capabilities
	if !slices.Contains(caps.Bounding, "CAP_SYS_ADMIN") || !slices.Contains(caps.Effective, "CAP_NET_RAW") ||
		len(caps.Inheritable) != 0 || len(caps.Ambient) != 0 || !slices.Equal(caps.Bounding, caps.Permitted) {
		t.Errorf("capabilities %+v", caps)
	}
}
