package sdktest

import (
	"encoding/json"
	"strings"
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
	// Facts are the other plugins' public options the request carries
	// ("chroot.rootfs" -> "/srv/rootfs"), as crun would give them.
	Facts map[string]string
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
//   - host steps that call hooks are declared in the description;
//   - a cacheable contribution (Cacheable) is the same for two
//     container ids but for the id itself: crun reuses it for others.
//
// Each case is contributed with the plugins its Plugins name, the
// plugin's own Requires and itself enabled (as crun would refuse the run
// otherwise), and with every feature of this sdk's protocol.
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

	contribute := func(c Case, id string) (spec.Contribution, error) {
		opts := map[string]string{}
		lists := map[string][]string{}
		for _, o := range d.Options {
			if o.Name != spec.AnyKey { // as crun does: "*" only names a rule
				opts[o.Name] = o.Default
			}
		}
		for k, v := range c.Options {
			opts[k] = v
			if repeatable(d, k) && v != "" {
				lists[k] = strings.Split(v, "\n")
			}
		}
		plugins := append(append([]string{}, c.Plugins...), d.Requires...)
		return remote.Contribute(ctx, d.Name, spec.ContributeRequest{
			Options:     opts,
			Lists:       lists,
			Plugins:     append(plugins, d.Name),
			ContainerID: id,
			Features:    allFeatures(),
			Facts:       c.Facts,
		})
	}
	check := func(c Case) {
		t.Helper()
		got, err := contribute(c, "conformance-a")
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
		if got.Cacheable && !got.Uncacheable {
			other, err := contribute(c, "conformance-b")
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(other)
			if err != nil || strings.ReplaceAll(string(a), "conformance-a", "ID") != strings.ReplaceAll(string(b), "conformance-b", "ID") {
				t.Errorf("case %q: the contribution changes with the container id beyond the id itself, and is not Uncacheable: "+
					"crun reuses a cached plan for other containers (use ContainerID verbatim, or set Uncacheable):\n%s\n%s (%v)", c.Name, a, b, err)
			}
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

// repeatable tells whether the plugin declares key repeatable.
func repeatable(d spec.Description, key string) bool {
	for _, o := range d.Options {
		if o.Name == key {
			return o.Repeatable
		}
	}
	return false
}

// allFeatures is what a crun of this sdk's protocol supports: every step
// kind spec has, and every protocol feature.
func allFeatures() []string {
	features := []string{spec.FeatureFacts, spec.FeatureLists, spec.FeatureMountIfExists}
	for _, k := range spec.StepKinds() {
		features = append(features, spec.FeatureStep(k))
	}
	for _, k := range spec.HostStepKinds() {
		features = append(features, spec.FeatureHostStep(k))
	}
	return features
}
