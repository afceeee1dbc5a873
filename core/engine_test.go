package core

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

// fakePlugin is a plugin described and contributed from fixed values.
type fakePlugin struct {
	desc    spec.Description
	contrib func(spec.ContributeRequest) (spec.Contribution, error)
}

func (f fakePlugin) Describe(context.Context) (spec.Description, error) { return f.desc, nil }
func (f fakePlugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	if f.contrib == nil {
		return spec.Contribution{}, nil
	}
	return f.contrib(req)
}

// inProcess serves fake plugins over real gRPC, in-process.
type inProcess struct {
	t       *testing.T
	plugins []fakePlugin
}

func (l inProcess) Launch(_ context.Context, sources []Source, _ Pins) ([]*Connection, error) {
	var served []fakePlugin
	for _, s := range sources {
		for _, p := range l.plugins {
			if p.desc.Name == s.Name {
				served = append(served, p)
			}
		}
	}
	if len(served) != len(sources) {
		return nil, errors.New("not all plugins found")
	}
	var conns []*Connection
	for i, s := range sources {
		r := sdktest.Serve(l.t, served[i])
		conns = append(conns, NewConnections([]Source{s}, r, nil)...)
	}
	return conns, nil
}

func engineWith(t *testing.T, plugins ...fakePlugin) *Engine {
	var names []string
	for _, p := range plugins {
		names = append(names, p.desc.Name)
	}
	return &Engine{Builtins: names, Launcher: inProcess{t: t, plugins: plugins}}
}

func TestPrepareOrdersAndPassesOptions(t *testing.T) {
	var seen spec.ContributeRequest
	e := engineWith(t,
		fakePlugin{desc: spec.Description{Name: "late", After: []string{"early"},
			Options: []spec.Option{{Name: "size", Type: spec.TypeSize, Default: "1M"}, {Name: "flag", Type: spec.TypeBool, Default: "false"}}},
			contrib: func(r spec.ContributeRequest) (spec.Contribution, error) { seen = r; return spec.Contribution{}, nil }},
		fakePlugin{desc: spec.Description{Name: "early"}},
	)
	s, err := e.Prepare(context.Background(), Request{
		Plugins:     []string{"late", "early"},
		Options:     []Option{{Plugin: "late", Key: "size", Value: "64m"}},
		Command:     []string{"sh"},
		ContainerID: "c1",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := strings.Join(seen.Plugins, ","); got != "early,late" {
		t.Errorf("plugins in order: %s", got)
	}
	if seen.Options["size"] != "64m" || seen.Options["flag"] != "false" || seen.ContainerID != "c1" {
		t.Errorf("contribute request %+v", seen)
	}
	if s.Plan.Plugins[0].Name != "early" {
		t.Errorf("plan plugins %+v", s.Plan.Plugins)
	}
}

func TestPrepareRefuses(t *testing.T) {
	e := engineWith(t,
		fakePlugin{desc: spec.Description{Name: "a", Options: []spec.Option{{Name: "n", Type: spec.TypeInt}}}},
		fakePlugin{desc: spec.Description{Name: "needy", Requires: []string{"a"}}},
		fakePlugin{desc: spec.Description{Name: "hooky"}, contrib: func(spec.ContributeRequest) (spec.Contribution, error) {
			return spec.Contribution{HostSteps: []spec.HostStep{{Point: spec.HookAfterClone, Hook: &spec.Hook{}}}}, nil
		}},
	)
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Plugins: []string{"needy"}}, `plugin "needy" requires "a": add a to --plugins`},
		{Request{Plugins: []string{"a"}, Options: []Option{{Plugin: "a", Key: "n", Value: "x"}}}, `-o a.n: plugin "a" option "n": "x" is not an integer`},
		{Request{Plugins: []string{"a"}, Options: []Option{{Plugin: "b", Key: "n", Value: "1"}}}, `-o b.n: plugin "b" is not enabled`},
		{Request{Plugins: []string{"hooky"}}, `plugin "hooky" asks for a live hook at after-clone but did not declare it`},
		{Request{Plugins: []string{"a"}, ContainerID: "../x"}, `container name "../x"`},
		{Request{Plugins: []string{"zzz"}}, `unknown plugin "zzz"`},
	}
	for _, tt := range tests {
		tt.req.Command = []string{"sh"}
		_, err := e.Prepare(context.Background(), tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Prepare(%+v) error = %v, want %q", tt.req, err, tt.want)
		}
	}
}
