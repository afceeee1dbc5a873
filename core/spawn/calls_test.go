package spawn

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// TestChildCallsNothingOfTheRuntime reads the machine code of the
// child's functions (child.go) in a debugger's build of crun, where
// nothing is inlined, and checks what each calls: only the child's own
// functions, the system call functions, and the runtime's panics for a
// failed bounds check (a bug: the child dies or hangs, crun survives and
// can kill it). Nothing that can grow the stack, allocate or schedule:
// the linker checks the frames of nosplit functions, not a call to a
// method that is not one, nor a helper that lost its nosplit.
func TestChildCallsNothingOfTheRuntime(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("the disassembly is read for amd64; this is %s", runtime.GOARCH)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to build and disassemble crun: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "crun")
	if out, err := exec.Command(goTool, "build", "-gcflags=all=-N -l", "-o", bin, "../../cmd/crun").CombinedOutput(); err != nil {
		t.Fatalf("build crun unoptimised: %v\n%s", err, out)
	}
	out, err := exec.Command(goTool, "tool", "objdump", "-s", `core/spawn\.`, bin).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	const pkg = "github.com/crun-project/crun/core/spawn."
	calls := map[string][]string{} // child.go's functions and what they call
	var fn string
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "TEXT" {
			fn = ""
			if strings.HasSuffix(f[2], "/core/spawn/child.go") {
				fn = strings.TrimSuffix(strings.TrimPrefix(f[1], pkg), "(SB)")
				calls[fn] = nil
			}
			continue
		}
		for i, w := range f {
			if fn != "" && w == "CALL" && i+1 < len(f) {
				calls[fn] = append(calls[fn], strings.TrimSuffix(f[i+1], "(SB)"))
			}
		}
	}
	for _, want := range []string{"(*launch).fork", "(*launch).exec", "(*launch).create", "(*launch).supervise"} {
		if _, ok := calls[want]; !ok {
			t.Fatalf("no %s in the disassembly: the test reads the wrong thing (found %v)", want, keys(calls))
		}
	}
	for caller, targets := range calls {
		for _, callee := range targets {
			_, own := calls[strings.TrimPrefix(callee, pkg)]
			switch {
			case strings.HasPrefix(callee, pkg) && own,
				callee == "syscall.RawSyscall6",
				strings.HasPrefix(callee, "runtime.panicBounds"), strings.HasPrefix(callee, "runtime.panicIndex"),
				strings.HasPrefix(callee, "runtime.panicSlice"):
			case strings.HasPrefix(callee, "runtime.morestack") && caller == "(*launch).fork":
				// fork's own prologue, which runs in crun before the clone.
			default:
				t.Errorf("%s calls %s: the child may call only the child's functions (all nosplit) and syscall.RawSyscall6", caller, callee)
			}
		}
	}
}

func keys(m map[string][]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
