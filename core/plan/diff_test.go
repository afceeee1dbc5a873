package plan

import (
	"bytes"
	"slices"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

func TestDiffLines(t *testing.T) {
	for _, c := range []struct {
		old, new, want []string
	}{
		{nil, nil, nil},
		{[]string{"a", "b"}, []string{"a", "b"}, nil},
		{[]string{"a", "c"}, []string{"a", "b", "c"}, []string{"+ b"}},
		{[]string{"a", "b", "c"}, []string{"a", "c"}, []string{"- b"}},
		{[]string{"a", "b"}, []string{"b", "c"}, []string{"- a", "+ c"}},
		{[]string{"x"}, []string{"y"}, []string{"+ y", "- x"}},
	} {
		if got := diffLines(c.old, c.new); !slices.Equal(got, c.want) {
			t.Errorf("%v -> %v: %q, want %q", c.old, c.new, got, c.want)
		}
	}
}

func TestDiff(t *testing.T) {
	base := &Plan{CloneFlags: []string{"CLONE_NEWUTS"}, Command: []string{"sh"},
		Steps: []Step{{Plugin: "uts", Step: spec.Step{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "container"}}}}}
	p := &Plan{CloneFlags: []string{"CLONE_NEWNS", "CLONE_NEWUTS"}, Command: []string{"sh"},
		Steps: []Step{
			{Plugin: "mnt", Step: spec.Step{Phase: spec.PhasePrepare, Mount: &spec.Mount{Target: "/", Flags: []string{"rec", "private"}}}},
			{Plugin: "uts", Step: spec.Step{Phase: spec.PhaseConfigure, Sethostname: &spec.Sethostname{Hostname: "container"}}}}}
	var b bytes.Buffer
	if !Diff(&b, base, p) {
		t.Fatal("no difference found")
	}
	want := "clone flags:\n+ CLONE_NEWNS\nchild steps:\n+ [prepare] mnt: mount none on / (rec,private)\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if b.Reset(); Diff(&b, p, p) || b.Len() != 0 {
		t.Errorf("a plan against itself: %q", b.String())
	}
}
