package seccomp

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// dockerLike is a profile the size of Docker's default: about 350 names
// allowed outright (here every x86_64 system call but the privileged
// ones, and a few of 32-bit machines), a few rules with arguments, and
// the architectures Docker lists for the machine.
func dockerLike(arches ...string) *spec.Seccomp {
	privileged := []string{
		"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "clone", "clone3",
		"create_module", "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen",
		"fspick", "get_kernel_syms", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load",
		"kexec_load", "keyctl", "lookup_dcookie", "mount", "move_mount", "nfsservctl",
		"open_by_handle_at", "open_tree", "perf_event_open", "personality", "pivot_root",
		"process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl",
		"reboot", "request_key", "setdomainname", "sethostname", "setns", "settimeofday",
		"socket", "swapoff", "swapon", "_sysctl", "sysfs", "umount2", "unshare", "uselib",
		"userfaultfd", "ustat", "vm86", "vm86old",
	}
	var names []string
	for _, s := range sysX86_64 {
		if !slices.Contains(privileged, s.name) {
			names = append(names, s.name)
		}
	}
	names = append(names, "_llseek", "fstatat64", "mmap2", "arm_fadvise64_64", "arm_sync_file_range",
		"fcntl64", "fstat64", "lstat64", "stat64", "statfs64", "fstatfs64", "truncate64",
		"ftruncate64", "sendfile64", "getuid32", "setuid32")
	eq := func(v uint64) []spec.SeccompArg { return []spec.SeccompArg{{Index: 0, Value: v, Op: "SCMP_CMP_EQ"}} }
	return &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		DefaultErrno:  u32(uint32(unix.EPERM)),
		Architectures: arches,
		Syscalls: []spec.SeccompRule{
			{Names: names, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW", Args: eq(0)},
			{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW", Args: eq(8)},
			{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW", Args: eq(0x20000)},
			{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW", Args: eq(0x20008)},
			{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW", Args: eq(0xffffffff)},
			{Names: []string{"socket"}, Action: "SCMP_ACT_ALLOW",
				Args: []spec.SeccompArg{{Index: 0, Value: unix.AF_VSOCK, Op: "SCMP_CMP_NE"}}},
			{Names: []string{"clone"}, Action: "SCMP_ACT_ALLOW",
				Args: []spec.SeccompArg{{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: "SCMP_CMP_MASKED_EQ"}}},
			{Names: []string{"clone3"}, Action: "SCMP_ACT_ERRNO", Errno: u32(uint32(unix.ENOSYS))},
		},
	}
}

func TestADockerSizedProfileFitsTheKernelAndEveryInstructionIsOneSeccompAccepts(t *testing.T) {
	for _, m := range []struct {
		goarch string
		arches []string
	}{
		{"amd64", []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
		{"arm64", []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
		{"amd64", nil},
		{"arm64", nil},
	} {
		p := dockerLike(m.arches...)
		f := mustCompile(t, p, m.goarch)
		var names []string
		for _, r := range p.Syscalls {
			names = append(names, r.Names...)
		}
		slices.Sort(names)
		t.Logf("%s %v: %d names, %d instructions, at most %d run for one call",
			m.goarch, m.arches, len(slices.Compact(names)), len(f.Program), longestPath(f.Program))
		if len(f.Program) > 4096 {
			t.Errorf("%s: %d instructions, over the kernel's 4096", m.goarch, len(f.Program))
		}
		checkSeccompProgram(t, f.Program)

		mach, _ := machineFor(m.goarch)
		for _, ar := range append([]*arch{mach.native}, mach.others...) {
			if len(m.arches) == 0 && ar != mach.native {
				continue
			}
			e := newExpect(t, f, ar)
			e.call("read", allow)
			e.call("openat", allow)
			e.call("mount", errno(unix.EPERM))
			e.call("personality", allow, 8)
			e.call("personality", errno(unix.EPERM), 9)
			e.call("socket", allow, unix.AF_INET)
			e.call("socket", errno(unix.EPERM), unix.AF_VSOCK)
			e.call("clone", allow, unix.CLONE_VM|unix.CLONE_THREAD)
			e.call("clone", errno(unix.EPERM), unix.CLONE_NEWUSER)
			e.call("clone3", errno(unix.ENOSYS))
		}
	}
}

// checkSeccompProgram checks what the kernel checks when it loads a
// filter: only the instructions seccomp allows, loads of whole words
// inside seccomp_data, every jump inside the program, a return at the end.
func checkSeccompProgram(t *testing.T, prog []unix.SockFilter) {
	t.Helper()
	if n := len(prog); n == 0 || prog[n-1].Code != unix.BPF_RET|unix.BPF_K {
		t.Fatal("the program does not end in a return")
	}
	for i, ins := range prog {
		inside := func(skip uint32) bool { return uint64(i)+1+uint64(skip) < uint64(len(prog)) }
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if ins.K%4 != 0 || ins.K >= 64 {
				t.Errorf("instruction %d loads offset %d, not a word of seccomp_data", i, ins.K)
			}
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, unix.BPF_RET | unix.BPF_K:
		case unix.BPF_JMP | unix.BPF_JA:
			if !inside(ins.K) {
				t.Errorf("instruction %d: ja %d leaves the program", i, ins.K)
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			if !inside(uint32(ins.Jt)) || !inside(uint32(ins.Jf)) {
				t.Errorf("instruction %d: a jump leaves the program", i)
			}
		default:
			t.Errorf("instruction %d: code %#x is none seccomp needs here", i, ins.Code)
		}
	}
}

// longestPath is the most instructions one run of prog executes.
func longestPath(prog []unix.SockFilter) int {
	n := len(prog)
	longest := make([]int, n+1)
	for i := n - 1; i >= 0; i-- {
		ins := prog[i]
		switch {
		case ins.Code&0x07 == unix.BPF_RET:
			longest[i] = 1
		case ins.Code == unix.BPF_JMP|unix.BPF_JA:
			longest[i] = 1 + longest[i+1+int(ins.K)]
		case ins.Code&0x07 == unix.BPF_JMP:
			longest[i] = 1 + max(longest[i+1+int(ins.Jt)], longest[i+1+int(ins.Jf)])
		default:
			longest[i] = 1 + longest[i+1]
		}
	}
	return longest[0]
}
