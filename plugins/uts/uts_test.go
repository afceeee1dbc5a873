package uts

import (
	"context"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Plugin{},
		sdktest.Case{Name: "a hostname", Options: map[string]string{"hostname": "box"}},
		sdktest.Case{Name: "too long", Options: map[string]string{"hostname": string(make([]byte, 65))}, WantErr: true},
		sdktest.Case{Name: "empty", Options: map[string]string{"hostname": ""}, WantErr: true},
	)
}

func TestSetsTheHostnameInsideTheNamespace(t *testing.T) {
	c, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"hostname": "box"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Namespaces) != 1 || c.Namespaces[0] != spec.NamespaceUTS {
		t.Errorf("namespaces %v", c.Namespaces)
	}
	if len(c.Steps) != 1 || c.Steps[0].Sethostname == nil || c.Steps[0].Sethostname.Hostname != "box" {
		t.Errorf("steps %+v", c.Steps)
	}
	if len(c.Env) != 1 || c.Env[0] != "HOSTNAME=box" {
		t.Errorf("env %v", c.Env)
	}
}
