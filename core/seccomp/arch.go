package seccomp

import (
	"fmt"
	"slices"
	"strings"
)

// arch is an architecture a filter can have a section for.
type arch struct {
	name  string // as profiles spell it
	audit uint32 // seccomp_data.arch
	table []sysnum
	// wide: arguments are 64 bits. The kernel zero-extends the arguments
	// of 32-bit system calls, so a narrow section knows each argument's
	// high word is 0 and does not test it.
	wide bool
	// x32: x32 system calls arrive under this audit value.
	x32 bool
}

var (
	archX86_64  = &arch{"SCMP_ARCH_X86_64", auditX86_64, sysX86_64, true, true}
	archI386    = &arch{"SCMP_ARCH_X86", auditI386, sysI386, false, false}
	archAArch64 = &arch{"SCMP_ARCH_AARCH64", auditAArch64, sysAArch64, true, false}
	archARM     = &arch{"SCMP_ARCH_ARM", auditARM, sysARM, false, false}
)

// machine is what a GOARCH's kernel runs: its own architecture, and the
// others a profile may admit (compat system calls).
type machine struct {
	native *arch
	others []*arch
}

func machineFor(goarch string) (machine, bool) {
	switch goarch {
	case "amd64":
		return machine{archX86_64, []*arch{archI386}}, true
	case "arm64":
		return machine{archAArch64, []*arch{archARM}}, true
	case "386":
		return machine{native: archI386}, true
	case "arm":
		return machine{native: archARM}, true
	}
	return machine{}, false
}

// archNames are the architectures profiles may name. Those of other
// machines are accepted and ignored: one profile serves every machine.
var archNames = []string{
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
	"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
	"SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
	"SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
}

// admit returns the architectures the filter has sections for, the
// machine's own first (it has most of the system calls).
func (m machine) admit(names []string) (arches []*arch, warnings []string, err error) {
	arches = []*arch{m.native}
	x32 := false
	for _, name := range names {
		if !slices.Contains(archNames, name) {
			return nil, nil, fmt.Errorf("seccomp: unknown architecture %q (want one of %s)", name, strings.Join(archNames, ", "))
		}
		for _, a := range m.others {
			if a.name == name && !slices.Contains(arches, a) {
				arches = append(arches, a)
			}
		}
		if name == "SCMP_ARCH_X32" && m.native.x32 && !x32 {
			x32 = true
			warnings = append(warnings, "seccomp: SCMP_ARCH_X32 is not supported: x32 system calls fail with ENOSYS")
		}
	}
	return arches, warnings, nil
}
