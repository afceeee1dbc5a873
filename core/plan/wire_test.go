package plan

import (
	"encoding/json"
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
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
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

// oneOfEach returns one value of T per action (pointer field) of T, with
// every field set: the action's, and T's other fields.
func oneOfEach[T any](n *int) []T {
	var out []T
	t := reflect.TypeFor[T]()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Type.Kind() != reflect.Ptr {
			continue
		}
		var x T
		v := reflect.ValueOf(&x).Elem()
		for j := 0; j < t.NumField(); j++ {
			if t.Field(j).Type.Kind() != reflect.Ptr || j == i {
				fill(v.Field(j), n)
			}
		}
		out = append(out, x)
	}
	return out
}

// everything is a plan with every field set, one step per step action
// and one host step per host step action.
func everything(t *testing.T) *Plan {
	var p Plan
	n := 0
	v := reflect.ValueOf(&p).Elem()
	for i := 0; i < v.NumField(); i++ {
		switch v.Type().Field(i).Name {
		case "Steps", "HostSteps":
		default:
			fill(v.Field(i), &n)
		}
	}
	for _, s := range oneOfEach[spec.Step](&n) {
		p.Steps = append(p.Steps, Step{Plugin: fmt.Sprintf("p%d", n), Step: s})
	}
	for _, h := range oneOfEach[spec.HostStep](&n) {
		p.HostSteps = append(p.HostSteps, HostStep{Plugin: fmt.Sprintf("p%d", n), HostStep: h})
	}
	if len(p.Steps) < 9 || len(p.HostSteps) < 7 {
		t.Fatalf("only %d step and %d host step actions found", len(p.Steps), len(p.HostSteps))
	}
	return &p
}

// TestWireCoversEveryField fails when a field is added to the plan, a
// step or a host step (or an action to either) without being added to
// the wire form.
func TestWireCoversEveryField(t *testing.T) {
	p := everything(t)
	b, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, p)
	}
}

// TestWireKeepsNilApart: a decoded plan prints as JSON exactly as the
// encoded one (null and [] are not the same there).
func TestWireKeepsNilApart(t *testing.T) {
	for _, p := range []*Plan{
		{FormatVersion: FormatVersion, Command: []string{"true"}},
		{FormatVersion: FormatVersion, Command: []string{}, Plugins: []Plugin{}, Namespaces: []spec.Namespace{},
			CloneFlags: []string{}, HostSteps: []HostStep{}, Steps: []Step{}, Warnings: []Warning{}, Env: []string{}},
	} {
		b, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b, nil)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("round trip of %+v: %+v, %v", p, got, err)
		}
	}
}

func TestWireRewritesStrings(t *testing.T) {
	p := &Plan{ContainerID: "ID", Steps: []Step{{Plugin: "cgroup", Step: spec.Step{Phase: spec.PhasePrepare,
		JoinCgroup: &spec.JoinCgroup{Path: "/sys/fs/cgroup/pids/crun/ID"}}}}}
	b, _ := Marshal(p)
	got, err := Unmarshal(b, func(s string) string { return strings.ReplaceAll(s, "ID", "crun-123") })
	if err != nil || got.ContainerID != "crun-123" || got.Steps[0].JoinCgroup.Path != "/sys/fs/cgroup/pids/crun/crun-123" {
		t.Errorf("rewritten: %+v, %v", got, err)
	}
}

// TestWireRefusesDamage: every truncation, and bytes of another kind,
// give an error, never a panic or a partial plan.
func TestWireRefusesDamage(t *testing.T) {
	b, err := Marshal(everything(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i++ {
		if p, err := Unmarshal(b[:i], nil); err == nil {
			t.Fatalf("%d of %d bytes decoded: %+v", i, len(b), p)
		}
	}
	if _, err := Unmarshal(append(b, 0), nil); err == nil || !strings.Contains(err.Error(), "after the plan") {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := Unmarshal([]byte(`{"format_version":1}`), nil); err == nil || !strings.Contains(err.Error(), "different versions") {
		t.Errorf("JSON: %v", err)
	}
	bad := append([]byte{}, b...)
	bad[len(wireMagic)-1]++ // another version
	if _, err := Unmarshal(bad, nil); err == nil {
		t.Error("another version decoded")
	}
}

func TestWireRefusesStepsWithoutOneAction(t *testing.T) {
	for _, p := range []*Plan{
		{Steps: []Step{{Plugin: "x", Step: spec.Step{Phase: spec.PhaseMount}}}},
		{HostSteps: []HostStep{{Plugin: "x", HostStep: spec.HostStep{Point: spec.HookAfterExit}}}},
	} {
		if _, err := Marshal(p); err == nil {
			t.Errorf("%+v encoded", p)
		}
	}
}

// TestChildGetsItsPart: what the init decodes is ForChild.
func TestChildGetsItsPart(t *testing.T) {
	p := everything(t)
	b, err := EncodeForChild(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeForChild(b)
	if err != nil || !reflect.DeepEqual(got, p.ForChild()) {
		t.Errorf("child part: %+v, %v", got, err)
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	enc, _ := Marshal(everything(&testing.T{}))
	for b.Loop() {
		if _, err := Unmarshal(enc, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// A real plan prints the same after a round trip.
func TestWireRoundTripsAMergedPlan(t *testing.T) {
	p, err := Merge(Input{ContainerID: "c", Command: []string{"sh"}}, []Contribution{{
		Plugin: Plugin{Name: "uts", Version: "0.1.0", Origin: "built-in"},
		Contribution: spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceUTS},
			Steps: []spec.Step{{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "h"}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Marshal(p)
	got, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(p)
	have, _ := json.Marshal(got)
	if string(want) != string(have) {
		t.Errorf("JSON after a round trip:\n%s\nwant\n%s", have, want)
	}
}

// TestWireBoundsLengths: a damaged length cannot make the reader
// allocate more than the input could hold, nor a mode overflow.
func TestWireBoundsLengths(t *testing.T) {
	var w wireWriter
	w.buf = append(w.buf, wireMagic...)
	w.uint(1)       // format
	w.string("id")  // container id
	w.uint(1 << 40) // a plugin list far longer than the input
	if _, err := Unmarshal(w.buf, nil); err == nil {
		t.Error("a list longer than the input decoded")
	}
	p := &Plan{Steps: []Step{{Plugin: "x", Step: spec.Step{Phase: spec.PhaseMount, Mkdir: &spec.Mkdir{Path: "/a", Mode: 0o755}}}}}
	b, _ := Marshal(p)
	// The mode is the last field: replace it with 2^33.
	i := strings.LastIndex(string(b), "\xed\x03") // 0o755 as a uvarint
	if i < 0 {
		t.Fatal("mode not found")
	}
	bad := append(append([]byte{}, b[:i]...), 0x80, 0x80, 0x80, 0x80, 0x20)
	bad = append(bad, b[i+2:]...)
	if _, err := Unmarshal(bad, nil); err == nil || !strings.Contains(err.Error(), "32 bits") {
		t.Errorf("a 33-bit mode: %v", err)
	}
}
