package seccomp

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestTheGeneratedTablesAgreeWithXSysOnThisMachine(t *testing.T) {
	m, ok := machineFor(runtime.GOARCH)
	if !ok {
		t.Skipf("no tables for %s", runtime.GOARCH)
	}
	for name, want := range map[string]uintptr{
		"read":       unix.SYS_READ,
		"write":      unix.SYS_WRITE,
		"openat":     unix.SYS_OPENAT,
		"close":      unix.SYS_CLOSE,
		"execve":     unix.SYS_EXECVE,
		"exit_group": unix.SYS_EXIT_GROUP,
		"clone":      unix.SYS_CLONE,
		"futex":      unix.SYS_FUTEX,
		"getpid":     unix.SYS_GETPID,
		"mount":      unix.SYS_MOUNT,
		"seccomp":    unix.SYS_SECCOMP,
	} {
		got, ok := lookup(m.native.table, name)
		if !ok || uintptr(got) != want {
			t.Errorf("%s %q: %d (found %v), want %d", m.native.name, name, got, ok, want)
		}
	}
}

func TestTheGeneratedAuditArchValuesAreXSyss(t *testing.T) {
	for _, c := range []struct {
		ar   *arch
		want uint32
	}{
		{archX86_64, unix.AUDIT_ARCH_X86_64},
		{archI386, unix.AUDIT_ARCH_I386},
		{archAArch64, unix.AUDIT_ARCH_AARCH64},
		{archARM, unix.AUDIT_ARCH_ARM},
	} {
		if c.ar.audit != c.want {
			t.Errorf("%s: audit %#x, want %#x", c.ar.name, c.ar.audit, c.want)
		}
	}
}

func TestEveryTableIsSortedByNameWithoutRepeatsSoBinarySearchFindsEveryName(t *testing.T) {
	for _, ar := range []*arch{archX86_64, archI386, archAArch64, archARM} {
		if len(ar.table) < 300 {
			t.Errorf("%s: %d system calls, a table seems cut short", ar.name, len(ar.table))
		}
		for i, s := range ar.table {
			if i > 0 && ar.table[i-1].name >= s.name {
				t.Errorf("%s: %q after %q", ar.name, s.name, ar.table[i-1].name)
			}
			if nr, ok := lookup(ar.table, s.name); !ok || nr != s.nr {
				t.Errorf("%s: lookup(%q) = %d, %v, want %d", ar.name, s.name, nr, ok, s.nr)
			}
		}
		if _, ok := lookup(ar.table, "nosuchcall"); ok {
			t.Errorf("%s: lookup finds a name that is not there", ar.name)
		}
	}
}

func TestNamesAreXSysNamesLowerCased(t *testing.T) {
	for _, c := range []struct {
		ar   *arch
		name string
		want uint32
	}{
		{archX86_64, "newfstatat", 262},
		{archI386, "_llseek", 140},
		{archARM, "_newselect", 142},
		{archAArch64, "openat", 56},
	} {
		if got, ok := lookup(c.ar.table, c.name); !ok || got != c.want {
			t.Errorf("%s %q: %d, %v, want %d", c.ar.name, c.name, got, ok, c.want)
		}
	}
	if _, ok := lookup(archARM.table, "syscall_mask"); ok {
		t.Error(`arm: "syscall_mask" is in the table; it is a mask in the kernel's header, not a system call`)
	}
}
