package seccomp

import (
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

func TestProfilesCrunCannotHonourAreRefusedWithWhatIsWrongAndWhatIsAccepted(t *testing.T) {
	allowRead := []spec.SeccompRule{{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"}}
	withArg := func(a spec.SeccompArg) []spec.SeccompRule {
		return []spec.SeccompRule{
			{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"clone", "clone3"}, Action: "SCMP_ACT_ALLOW", Args: []spec.SeccompArg{a}},
		}
	}
	for _, tc := range []struct {
		what string
		p    spec.Seccomp
		want string
	}{
		{"an unknown default action",
			spec.Seccomp{DefaultAction: "SCMP_ACT_FOO"},
			`seccomp default action: unknown action "SCMP_ACT_FOO" (want one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, `},
		{"an unknown action in a rule",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []spec.SeccompRule{{Names: []string{"read"}, Action: "ALLOW"}}},
			`seccomp rule 1 ("read"): unknown action "ALLOW" (want one of SCMP_ACT_ALLOW, `},
		{"SCMP_ACT_NOTIFY, which needs a listener",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []spec.SeccompRule{{Names: []string{"mount"}, Action: "SCMP_ACT_NOTIFY"}}},
			`seccomp rule 1 ("mount"): SCMP_ACT_NOTIFY needs a listener for the notifications, which crun does not have (want one of SCMP_ACT_ALLOW, `},
		{"SCMP_ACT_NOTIFY as the default",
			spec.Seccomp{DefaultAction: "SCMP_ACT_NOTIFY"},
			`seccomp default action: SCMP_ACT_NOTIFY needs a listener`},
		{"an errno above 16 bits",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []spec.SeccompRule{{Names: []string{"mount"}, Action: "SCMP_ACT_ERRNO", Errno: u32(65536)}}},
			`seccomp rule 1 ("mount"): SCMP_ACT_ERRNO: errno 65536 does not fit in seccomp's 16 bits of data (want 0 to 65535)`},
		{"a default errno above 16 bits",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ERRNO", DefaultErrno: u32(1 << 20)},
			`seccomp default action: SCMP_ACT_ERRNO: errno 1048576 does not fit`},
		{"an unknown op",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ERRNO", Syscalls: withArg(spec.SeccompArg{Index: 0, Op: "SCMP_CMP_FOO"})},
			`seccomp rule 2 ("clone" and 1 more): unknown op "SCMP_CMP_FOO" (want one of SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE, SCMP_CMP_MASKED_EQ)`},
		{"an argument index above 5",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ERRNO", Syscalls: withArg(spec.SeccompArg{Index: 6, Op: "SCMP_CMP_EQ"})},
			`seccomp rule 2 ("clone" and 1 more): argument index 6 above 5 (want 0 to 5`},
		{"a rule without names",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ERRNO", Syscalls: append(allowRead, spec.SeccompRule{Action: "SCMP_ACT_ALLOW"})},
			`seccomp rule 2: no system call names (want at least one)`},
		{"an unknown flag",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Flags: []string{"SECCOMP_FILTER_FLAG_NEW_LISTENER"}},
			`seccomp: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER" (want SECCOMP_FILTER_FLAG_LOG or SECCOMP_FILTER_FLAG_SPEC_ALLOW)`},
		{"TSYNC, for a child that is single-threaded",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Flags: []string{"SECCOMP_FILTER_FLAG_TSYNC"}},
			`seccomp flag SECCOMP_FILTER_FLAG_TSYNC: refused: crun's child is single-threaded`},
		{"an unknown architecture",
			spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []string{"SCMP_ARCH_X86_64", "x86_64"}},
			`seccomp: unknown architecture "x86_64" (want one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, `},
	} {
		f, err := compile(&tc.p, "amd64")
		if err == nil {
			t.Errorf("%s: compiled (%d instructions), want an error", tc.what, len(f.Program))
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error\n%s\nwant it to start with\n%s", tc.what, err, tc.want)
		}
	}
}

func TestAProgramOverTheKernelsLimitIsRefused(t *testing.T) {
	// Every x86_64 system call, each with a rule of three conditions.
	p := &spec.Seccomp{DefaultAction: "SCMP_ACT_ERRNO"}
	for _, s := range sysX86_64 {
		p.Syscalls = append(p.Syscalls, spec.SeccompRule{
			Names: []string{s.name}, Action: "SCMP_ACT_ALLOW",
			Args: []spec.SeccompArg{
				{Index: 0, Value: 1, Op: "SCMP_CMP_EQ"},
				{Index: 1, Value: 2, Op: "SCMP_CMP_EQ"},
				{Index: 2, Value: 3, Op: "SCMP_CMP_EQ"},
			},
		})
	}
	_, err := compile(p, "amd64")
	want := "seccomp: the profile compiles to "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "above the kernel's limit of 4096") {
		t.Errorf("error %v, want %q... above the kernel's limit of 4096", err, want)
	}
}

func TestNoProfileAndAMachineWithoutTablesAreRefused(t *testing.T) {
	if _, err := compile(nil, "amd64"); err == nil || err.Error() != "seccomp: no profile" {
		t.Errorf("nil profile: error %v, want seccomp: no profile", err)
	}
	_, err := compile(&spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW"}, "riscv64")
	if want := "seccomp: no system call tables for riscv64 (crun has them for amd64, arm64, 386 and arm)"; err == nil || err.Error() != want {
		t.Errorf("riscv64: error %v, want %s", err, want)
	}
}
