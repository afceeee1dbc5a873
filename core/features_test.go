package core

import (
	"slices"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

// TestFeaturesNameEveryStepKind: a step kind added to spec is a feature
// plugins can ask for once crun carries it out, and not before: this
// fails until Features names it (after the executor has it).
func TestFeaturesNameEveryStepKind(t *testing.T) {
	features := Features()
	for _, k := range spec.StepKinds() {
		if !slices.Contains(features, spec.FeatureStep(k)) {
			t.Errorf("step kind %q is not in Features()", k)
		}
	}
	for _, k := range spec.HostStepKinds() {
		if !slices.Contains(features, spec.FeatureHostStep(k)) {
			t.Errorf("host step kind %q is not in Features()", k)
		}
	}
}
