package core

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

// TestFeaturesNameEveryStepKind: a step kind added to spec is a feature
// plugins can ask for once crun carries it out, and not before: this
// fails until Features names it (after the executor has it).
func TestFeaturesNameEveryStepKind(t *testing.T) {
	features := Features()
	check := func(v any, name func(string) string, meta ...string) {
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumField(); i++ {
			tag, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
			if tag == "" || tag == "-" || slices.Contains(meta, tag) {
				continue
			}
			if !slices.Contains(features, name(tag)) {
				t.Errorf("%s: step kind %q is not in Features()", ty.Name(), tag)
			}
		}
	}
	check(spec.Step{}, spec.FeatureStep, "phase", "requires", "why")
	check(spec.HostStep{}, spec.FeatureHostStep, "point", "why")
}
