package plan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

// fill sets every field reachable from v to a distinct non-zero value.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), n)
		}
	case reflect.Ptr:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// everyAction is a plan with one step per action of spec.Step, every
// field of which is set.
func everyAction(t *testing.T) *Plan {
	p := &Plan{FormatVersion: FormatVersion, ContainerID: "c1", Namespaces: []spec.Namespace{spec.NamespaceMount, spec.NamespacePID},
		Command: []string{"sh", "-c", "true"}, Env: []string{"A=1", "B=2"}, ReapingInit: true}
	n := 0
	st := reflect.TypeOf(spec.Step{})
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if f.Type.Kind() != reflect.Ptr {
			continue // Phase, Requires, Why: not actions
		}
		var s spec.Step
		fill(reflect.ValueOf(&s).Elem().Field(i), &n)
		s.Phase = spec.PhaseMount
		p.Steps = append(p.Steps, Step{Plugin: "p" + f.Name, Step: s})
	}
	if len(p.Steps) < 9 {
		t.Fatalf("only %d actions found", len(p.Steps))
	}
	return p
}

// TestChildWireCoversEveryField fails when an action or a field of one
// is added to spec.Step without being added to the child's wire form.
func TestChildWireCoversEveryField(t *testing.T) {
	p := everyAction(t)
	b, err := EncodeForChild(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeForChild(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := p.ForChild(); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		for i := range want.Steps {
			if !reflect.DeepEqual(got.Steps[i], want.Steps[i]) {
				t.Errorf("step %d (%s) differs", i+1, want.Steps[i].Plugin)
			}
		}
	}
}

// TestChildWireRefusesDamage: every truncation, and bytes of another
// kind, give an error, never a panic or a partial plan.
func TestChildWireRefusesDamage(t *testing.T) {
	b, err := EncodeForChild(everyAction(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i++ {
		if p, err := DecodeForChild(b[:i]); err == nil {
			t.Fatalf("%d of %d bytes decoded: %+v", i, len(b), p)
		}
	}
	if _, err := DecodeForChild(append(b, 0)); err == nil || !strings.Contains(err.Error(), "after the plan") {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := DecodeForChild([]byte(`{"format_version":1}`)); err == nil || !strings.Contains(err.Error(), "different versions") {
		t.Errorf("JSON: %v", err)
	}
	bad := append([]byte{}, b...)
	bad[len(childWireMagic)-1] = 2 // another version
	if _, err := DecodeForChild(bad); err == nil {
		t.Error("another version decoded")
	}
}

func TestChildWireRefusesStepsWithoutOneAction(t *testing.T) {
	p := &Plan{Steps: []Step{{Plugin: "x", Step: spec.Step{Phase: spec.PhaseMount}}}}
	if _, err := EncodeForChild(p); err == nil {
		t.Error("a step without an action was encoded")
	}
}

func BenchmarkDecodeForChild(b *testing.B) {
	enc, _ := EncodeForChild(everyAction(&testing.T{}))
	for b.Loop() {
		if _, err := DecodeForChild(enc); err != nil {
			b.Fatal(err)
		}
	}
}
