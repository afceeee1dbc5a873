package sdktest

import (
	"testing"

	"github.com/crun-project/crun/sdk"
	"github.com/crun-project/crun/sdk/spec"
)

// Case is one contribution a conformance check asks for.
type Case struct {
	Name string
	// Options given by the user; the declared defaults fill the rest.
	Options map[string]string
	// Plugins enabled besides the plugin under test (its own name is
	// added).
	Plugins []string
	// WantErr says the plugin must refuse these options.
	WantErr bool
}

// Conformance checks what every crun plugin must get right, over real
// gRPC as crun talks to it:
//   - its description is valid (a usable name, typed options with valid
//     defaults, known hook points);
//   - with only default options it contributes a valid contribution;
//   - each case is accepted with a valid contribution, or refused with an
//     error when WantErr is set;
//   - host steps that call hooks are declared in the description.
func Conformance(t *testing.T, p sdk.Plugin, cases ...Case) {
	t.Helper()
	ctx := Context(t)
	d, err := p.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Describe: invalid description: %v", err)
	}
	remote := Serve(t, p)
	if got, err := remote.Describe(ctx, d.Name); err != nil || got.Name != d.Name {
		t.Fatalf("Describe over gRPC: %+v, %v", got, err)
	}

	contribute := func(c Case) (spec.Contribution, error) {
		opts := map[string]string{}
		for _, o := range d.Options {
			if o.Name != spec.AnyKey { // as crun does: "*" only names a rule
				opts[o.Name] = o.Default
			}
		}
		for k, v := range c.Options {
			opts[k] = v
		}
		return remote.Contribute(ctx, d.Name, spec.ContributeRequest{
			Options:     opts,
			Plugins:     append(append([]string{}, c.Plugins...), d.Name),
			ContainerID: "conformance",
		})
	}
	check := func(c Case) {
		t.Helper()
		got, err := contribute(c)
		if c.WantErr {
			if err == nil {
				t.Errorf("case %q: options %v were accepted, want an error", c.Name, c.Options)
			}
			return
		}
		if err != nil {
			t.Errorf("case %q: Contribute: %v", c.Name, err)
			return
		}
		if err := got.Validate(); err != nil {
			t.Errorf("case %q: invalid contribution: %v", c.Name, err)
		}
		for _, h := range got.HostSteps {
			if h.Hook == nil {
				continue
			}
			declared := false
			for _, p := range d.Hooks {
				declared = declared || p == h.Point
			}
			if !declared {
				t.Errorf("case %q: a hook at %s that the description does not declare", c.Name, h.Point)
			}
		}
	}
	check(Case{Name: "defaults"})
	for _, c := range cases {
		check(c)
	}
}
