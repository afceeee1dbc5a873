package seccomp

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

func TestCallsNoRuleNamesGetTheDefaultAndNamedOnesTheirAction(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Syscalls: []spec.SeccompRule{
			{Names: []string{"read", "write", "openat"}, Action: "SCMP_ACT_ALLOW"},
		},
	}
	e := newExpect(t, mustCompile(t, p, "amd64"), archX86_64)
	e.call("read", allow)
	e.call("write", allow)
	e.call("openat", allow)
	e.call("close", errno(unix.EPERM))
	e.call("mount", errno(unix.EPERM))
}

func TestCompileUsesThisMachinesNumbers(t *testing.T) {
	m, ok := machineFor(runtime.GOARCH)
	if !ok {
		t.Skipf("no tables for %s", runtime.GOARCH)
	}
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_KILL_PROCESS",
		Syscalls:      []spec.SeccompRule{{Names: []string{"getpid"}, Action: "SCMP_ACT_ALLOW"}},
	}
	f, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	v := vm(t, f)
	if got := decide(t, v, call{arch: m.native.audit, nr: uint32(unix.SYS_GETPID)}); got != allow {
		t.Errorf("getpid: decision %#x, want allow", got)
	}
	if got := decide(t, v, call{arch: m.native.audit, nr: uint32(unix.SYS_GETPPID)}); got != killProcess {
		t.Errorf("getppid: decision %#x, want the default, kill process", got)
	}
}

func TestErrnoComesFromTheRuleOrTheDefaultElseEPERM(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		DefaultErrno:  u32(uint32(unix.ENOSYS)),
		Syscalls: []spec.SeccompRule{
			{Names: []string{"mount"}, Action: "SCMP_ACT_ERRNO", Errno: u32(uint32(unix.EACCES))},
			{Names: []string{"umount2"}, Action: "SCMP_ACT_ERRNO"},
		},
	}
	e := newExpect(t, mustCompile(t, p, "amd64"), archX86_64)
	e.call("mount", errno(unix.EACCES))
	e.call("umount2", errno(unix.EPERM))
	e.call("read", errno(unix.ENOSYS))

	p.DefaultErrno = nil
	e = newExpect(t, mustCompile(t, p, "amd64"), archX86_64)
	e.call("read", errno(unix.EPERM))
}

func TestEachActionGivesItsSeccompReturn(t *testing.T) {
	for _, tc := range []struct {
		action string
		errno  *uint32
		want   uint32
	}{
		{"SCMP_ACT_ALLOW", nil, allow},
		{"SCMP_ACT_ERRNO", nil, errno(unix.EPERM)},
		{"SCMP_ACT_ERRNO", u32(0xffff), unix.SECCOMP_RET_ERRNO | 0xffff},
		{"SCMP_ACT_KILL", nil, killThread},
		{"SCMP_ACT_KILL_THREAD", nil, killThread},
		{"SCMP_ACT_KILL_PROCESS", nil, killProcess},
		{"SCMP_ACT_TRAP", nil, unix.SECCOMP_RET_TRAP},
		{"SCMP_ACT_LOG", nil, unix.SECCOMP_RET_LOG},
		{"SCMP_ACT_TRACE", nil, unix.SECCOMP_RET_TRACE},
		{"SCMP_ACT_TRACE", u32(42), unix.SECCOMP_RET_TRACE | 42},
	} {
		// As a rule's action, and as the default.
		p := &spec.Seccomp{
			DefaultAction: "SCMP_ACT_ALLOW",
			Syscalls:      []spec.SeccompRule{{Names: []string{"read"}, Action: tc.action, Errno: tc.errno}},
		}
		if tc.want == allow {
			p.DefaultAction = "SCMP_ACT_KILL_PROCESS"
		}
		newExpect(t, mustCompile(t, p, "amd64"), archX86_64).call("read", tc.want)

		p = &spec.Seccomp{DefaultAction: tc.action, DefaultErrno: tc.errno}
		newExpect(t, mustCompile(t, p, "amd64"), archX86_64).call("read", tc.want)
	}
}

func TestSeveralRulesForOneCallFirstThatHoldsWinsElseTheDefault(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Syscalls: []spec.SeccompRule{
			{Names: []string{"ioctl"}, Action: "SCMP_ACT_ERRNO", Errno: u32(uint32(unix.EACCES)),
				Args: []spec.SeccompArg{{Index: 1, Value: 10, Op: "SCMP_CMP_GE"}}},
			{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"ioctl"}, Action: "SCMP_ACT_ALLOW",
				Args: []spec.SeccompArg{{Index: 1, Value: 5, Op: "SCMP_CMP_GE"}}},
			// Every condition of a rule must hold.
			{Names: []string{"ioctl"}, Action: "SCMP_ACT_LOG", Args: []spec.SeccompArg{
				{Index: 0, Value: 1, Op: "SCMP_CMP_EQ"},
				{Index: 2, Value: 7, Op: "SCMP_CMP_EQ"},
			}},
		},
	}
	e := newExpect(t, mustCompile(t, p, "amd64"), archX86_64)
	e.call("ioctl", errno(unix.EACCES), 0, 12) // the first and the second hold
	e.call("ioctl", allow, 0, 7)               // the second
	e.call("ioctl", unix.SECCOMP_RET_LOG, 1, 3, 7)
	e.call("ioctl", errno(unix.EPERM), 1, 3, 8) // none
	e.call("ioctl", errno(unix.EPERM), 0, 3, 7) // none
	e.call("read", allow)
}

func TestRulesAfterOneWithoutConditionsAreNeverTried(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Syscalls: []spec.SeccompRule{
			{Names: []string{"kill"}, Action: "SCMP_ACT_TRAP"},
			{Names: []string{"kill"}, Action: "SCMP_ACT_ALLOW", Args: []spec.SeccompArg{{Index: 1, Value: 0, Op: "SCMP_CMP_EQ"}}},
		},
	}
	e := newExpect(t, mustCompile(t, p, "amd64"), archX86_64)
	e.call("kill", unix.SECCOMP_RET_TRAP, 1, 0)
	e.call("kill", unix.SECCOMP_RET_TRAP, 1, 9)
}

func TestACallOfAnArchitectureNotAdmittedKillsTheProcess(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ALLOW",
		// Other machines' architectures are no error, and admit nothing here.
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_PPC64LE"},
	}
	v := vm(t, mustCompile(t, p, "amd64"))
	for _, audit := range []uint32{unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_AARCH64, unix.AUDIT_ARCH_ARM, 0} {
		if got := decide(t, v, call{arch: audit, nr: 3}); got != killProcess {
			t.Errorf("arch %#x: decision %#x, want kill process", audit, got)
		}
	}
	if got := decide(t, v, call{arch: unix.AUDIT_ARCH_X86_64, nr: 3}); got != allow {
		t.Errorf("x86_64: decision %#x, want allow", got)
	}
}

func TestI386IsAdmittedOnAmd64WhenListedWithItsOwnNumbers(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"},
		Syscalls:      []spec.SeccompRule{{Names: []string{"read", "_llseek"}, Action: "SCMP_ACT_ALLOW"}},
	}
	f := mustCompile(t, p, "amd64")
	i386 := newExpect(t, f, archI386)
	i386.call("read", allow) // 3 there; 3 is close on x86_64
	i386.call("_llseek", allow)
	i386.call("close", errno(unix.EPERM))
	x86_64 := newExpect(t, f, archX86_64)
	x86_64.call("read", allow)
	x86_64.call("close", errno(unix.EPERM))
}

func TestARMIsAdmittedOnArm64WhenListed(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Syscalls:      []spec.SeccompRule{{Names: []string{"openat"}, Action: "SCMP_ACT_ALLOW"}},
	}
	v := vm(t, mustCompile(t, p, "arm64"))
	if got := decide(t, v, call{arch: archARM.audit, nr: nr(t, archARM, "openat")}); got != killProcess {
		t.Errorf("arm, not listed: decision %#x, want kill process", got)
	}
	p.Architectures = []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
	f := mustCompile(t, p, "arm64")
	newExpect(t, f, archARM).call("openat", allow)
	newExpect(t, f, archAArch64).call("openat", allow)
	newExpect(t, f, archAArch64).call("close", errno(unix.EPERM))
}

func TestX32CallsGetENOSYSWhateverTheProfileSays(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ALLOW",
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"},
		Syscalls:      []spec.SeccompRule{{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"}},
	}
	f := mustCompile(t, p, "amd64")
	if len(f.Warnings) != 1 || f.Warnings[0] != "seccomp: SCMP_ARCH_X32 is not supported: x32 system calls fail with ENOSYS" {
		t.Errorf("warnings %q, want one about x32", f.Warnings)
	}
	v := vm(t, f)
	for _, n := range []uint32{x32Bit, x32Bit | 1, x32Bit | 257, 0xffffffff} {
		if got := decide(t, v, call{arch: unix.AUDIT_ARCH_X86_64, nr: n}); got != errno(unix.ENOSYS) {
			t.Errorf("x32 call %#x: decision %#x, want ENOSYS", n, got)
		}
	}
}

func TestUnknownNamesAreLeftOutWithOneSortedWarningPerArchitecture(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Architectures: []string{"SCMP_ARCH_X86"},
		Syscalls: []spec.SeccompRule{
			{Names: []string{"read", "nosuchcall", "fstatat64"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"alsonot", "nosuchcall", "newfstatat"}, Action: "SCMP_ACT_ALLOW"},
		},
	}
	f := mustCompile(t, p, "amd64")
	want := []string{
		"seccomp: system calls SCMP_ARCH_X86_64 does not have, left out: alsonot, fstatat64, nosuchcall",
		"seccomp: system calls SCMP_ARCH_X86 does not have, left out: alsonot, newfstatat, nosuchcall",
	}
	if len(f.Warnings) != len(want) || f.Warnings[0] != want[0] || f.Warnings[1] != want[1] {
		t.Errorf("warnings\n%q\nwant\n%q", f.Warnings, want)
	}
	newExpect(t, f, archX86_64).call("newfstatat", allow)
	newExpect(t, f, archI386).call("fstatat64", allow)
}

func TestAProfileNamingNothingKnownStillCompiles(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_LOG",
		Syscalls:      []spec.SeccompRule{{Names: []string{"nosuchcall"}, Action: "SCMP_ACT_ALLOW"}},
	}
	f := mustCompile(t, p, "amd64")
	if len(f.Warnings) != 1 {
		t.Errorf("warnings %q, want one", f.Warnings)
	}
	newExpect(t, f, archX86_64).call("read", unix.SECCOMP_RET_LOG)
}

func TestTwoFlagsGiveTheirBits(t *testing.T) {
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ALLOW",
		Flags:         []string{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
	}
	f := mustCompile(t, p, "amd64")
	if want := uintptr(unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW); f.Flags != want {
		t.Errorf("flags %#x, want %#x", f.Flags, want)
	}
}

func TestARuleTooLongForShortJumpsStillDecidesRight(t *testing.T) {
	// 80 conditions of 4 instructions each: the rule's first test cannot
	// reach its end in one jump, and its block is too long for the
	// number's test to skip in one.
	var args []spec.SeccompArg
	for i := 0; i < 80; i++ {
		args = append(args, spec.SeccompArg{Index: uint(i % 6), Value: uint64(i % 6), Op: "SCMP_CMP_EQ"})
	}
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Syscalls: []spec.SeccompRule{
			{Names: []string{"ioctl"}, Action: "SCMP_ACT_ALLOW", Args: args},
			{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"},
		},
	}
	f := mustCompile(t, p, "amd64")
	if len(f.Program) < 300 {
		t.Fatalf("%d instructions: the test needs a rule longer than 255", len(f.Program))
	}
	e := newExpect(t, f, archX86_64)
	e.call("ioctl", allow, 0, 1, 2, 3, 4, 5)
	e.call("ioctl", errno(unix.EPERM), 0, 1, 2, 3, 4, 6)
	e.call("ioctl", errno(unix.EPERM), 1, 1, 2, 3, 4, 5)
	e.call("read", allow)
	e.call("close", errno(unix.EPERM))
}
