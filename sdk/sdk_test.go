package sdk_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

type echoPlugin struct{ name string }

func (p echoPlugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{Name: p.name, Version: "1", Summary: "test",
		Options: []spec.Option{{Name: "path", Type: spec.TypeString, Default: "/x"}}}, nil
}

func (p echoPlugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	if req.Options["path"] == "fail" {
		return spec.Contribution{}, errors.New("bad path")
	}
	return spec.Contribution{
		Namespaces: []spec.Namespace{spec.NamespaceMount},
		Steps: []spec.Step{{Phase: spec.PhaseMount,
			Mount: &spec.Mount{Source: "t", Target: req.Options["path"], FSType: "tmpfs"}}},
		Warnings: []string{strings.Join(req.Plugins, ",")},
	}, nil
}

func TestServeInProcess(t *testing.T) {
	ctx := sdktest.Context(t)
	r := sdktest.Serve(t, echoPlugin{"one"}, echoPlugin{"two"})
	names, err := r.Plugins(ctx)
	if err != nil || !reflect.DeepEqual(names, []string{"one", "two"}) {
		t.Fatalf("Plugins() = %v, %v", names, err)
	}
	d, err := r.Describe(ctx, "two")
	if err != nil || d.Name != "two" {
		t.Fatalf("Describe() = %+v, %v", d, err)
	}
	c, err := r.Contribute(ctx, "one", spec.ContributeRequest{Options: map[string]string{"path": "/mnt/y"}, Plugins: []string{"one", "two"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Steps[0].Mount.Target != "/mnt/y" || c.Warnings[0] != "one,two" {
		t.Fatalf("Contribute() = %+v", c)
	}
}

func TestErrorsNameThePlugin(t *testing.T) {
	ctx := sdktest.Context(t)
	r := sdktest.Serve(t, echoPlugin{"one"})
	_, err := r.Contribute(ctx, "one", spec.ContributeRequest{Options: map[string]string{"path": "fail"}})
	var pe *sdktest.PluginError
	if !errors.As(err, &pe) || pe.Plugin != "one" || pe.Op != "contribute" || pe.Transport {
		t.Fatalf("error %#v", err)
	}
	if err.Error() != `plugin "one": contribute: bad path` {
		t.Errorf("message %q", err.Error())
	}
	_, err = r.Describe(ctx, "absent")
	if err == nil || !strings.Contains(err.Error(), `does not serve a plugin named "absent"`) {
		t.Errorf("describe of a plugin not served: %v", err)
	}
	if err := r.Hook(ctx, "one", spec.HookRequest{Point: spec.HookAfterClone}); err == nil || !strings.Contains(err.Error(), "has no hooks") {
		t.Errorf("hook of a plugin without hooks: %v", err)
	}
}
