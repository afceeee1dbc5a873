package child

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

func TestRunStepsCallsTheKernelInPlanOrder(t *testing.T) {
	steps := []plan.Step{
		{Plugin: "mnt", Step: spec.Step{Mount: &spec.Mount{Target: "/", Flags: []string{"rec", "private"}}}},
		{Plugin: "pid", Step: spec.Step{Mount: &spec.Mount{Source: "proc", Target: "/proc", FSType: "proc", Flags: []string{"nosuid", "nodev", "noexec"}}}},
		{Plugin: "t", Step: spec.Step{Mount: &spec.Mount{Source: "t", Target: "/mnt/x", FSType: "tmpfs", CreateTarget: true}}},
		{Plugin: "root", Step: spec.Step{PivotRoot: &spec.PivotRoot{Path: "/rootfs"}}},
		{Plugin: "root", Step: spec.Step{Chroot: &spec.Chroot{Path: "/jail"}}},
		{Plugin: "root", Step: spec.Step{Mkdir: &spec.Mkdir{Path: "/dev/pts"}}},
		{Plugin: "root", Step: spec.Step{Symlink: &spec.Symlink{Target: "/proc/self/fd", Link: "/dev/fd"}}},
		{Plugin: "uts", Step: spec.Step{Sethostname: &spec.Sethostname{Hostname: "container"}}},
		{Plugin: "w", Step: spec.Step{Chdir: &spec.Chdir{Path: "/work"}}},
	}
	var sys Recorder
	var done []int
	if err := RunSteps(&sys, steps, Hooks{Done: func(d Done) { done = append(done, d.Step) }}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`mount "none" "/" "" rec,private ""`,
		`mount "proc" "/proc" "proc" nosuid,nodev,noexec ""`,
		`mkdir "/mnt/x" 0755`,
		`mount "t" "/mnt/x" "tmpfs" 0 ""`,
		`pivot_root "/rootfs"`,
		`chroot "/jail"`,
		`mkdir "/dev/pts" 0755`,
		`symlink "/proc/self/fd" "/dev/fd"`,
		`sethostname "container"`,
		`chdir "/work"`,
	}
	if !reflect.DeepEqual(sys.Calls, want) {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(sys.Calls, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(done, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("done reported for %v", done)
	}
}

func TestRunStepsStopsAtTheFirstFailureAndNamesIt(t *testing.T) {
	steps := []plan.Step{
		{Plugin: "mnt", Step: spec.Step{Mount: &spec.Mount{Target: "/", Flags: []string{"rec", "private"}}}},
		{Plugin: "pid", Step: spec.Step{Mount: &spec.Mount{Source: "proc", Target: "/proc", FSType: "proc"}}},
		{Plugin: "uts", Step: spec.Step{Sethostname: &spec.Sethostname{Hostname: "c"}}},
	}
	denied := errors.New("permission denied")
	sys := Recorder{Fail: func(call string) error {
		if strings.HasPrefix(call, `mount "proc"`) {
			return denied
		}
		return nil
	}}
	err := RunSteps(&sys, steps, Hooks{})
	var se *StepError
	if !errors.As(err, &se) || se.Step != 2 || se.Plugin != "pid" || !errors.Is(err, denied) {
		t.Fatalf("error %v", err)
	}
	if got := err.Error(); got != `plugin "pid": step 2 (mount proc on /proc type proc): permission denied` {
		t.Errorf("message %q", got)
	}
	if len(sys.Calls) != 2 {
		t.Errorf("steps after the failure ran: %v", sys.Calls)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	if _, err := LookPath("definitely-not-here", dir); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing command: %v", err)
	}
	if p, err := LookPath("sh", "/nonexistent:/bin"); err != nil || p != "/bin/sh" {
		t.Errorf("sh: %q %v", p, err)
	}
	if _, err := LookPath("/no/such/file", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing path: %v", err)
	}
}

func TestProtocolRoundTrip(t *testing.T) {
	var buf strings.Builder
	if err := WriteMessage(&buf, Message{Type: MsgError, Step: 3, Plugin: "p", Err: "boom", ExitCode: 125}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMessage(strings.NewReader(buf.String()))
	if err != nil || m.Type != MsgError || m.Step != 3 || m.Plugin != "p" || m.ExitCode != 125 {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := ReadMessage(strings.NewReader(buf.String()[:6])); err == nil {
		t.Fatal("a truncated message was accepted")
	}
}
