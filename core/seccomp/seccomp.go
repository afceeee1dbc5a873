package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// Filter is a profile compiled for this machine.
type Filter struct {
	Program  []unix.SockFilter // golang.org/x/sys/unix, ready for seccomp(2)'s sock_fprog
	Flags    uintptr           // SECCOMP_FILTER_FLAG_* bits for seccomp(2)
	Warnings []string          // e.g. system calls this machine does not have (left out, as runc does)
}

// Compile compiles p for this machine (runtime.GOARCH). It refuses, with an
// error that names what is wrong and says what is accepted, an unknown
// action, op, flag or arch name, an argument index above 5, SCMP_ACT_NOTIFY
// (needs a listener crun does not have), an empty rule name list, a
// program over the kernel's 4096 instructions.
func Compile(p *spec.Seccomp) (*Filter, error) {
	return compile(p, runtime.GOARCH)
}

// compile is Compile for the machine goarch names, so that tests cover
// every machine on any one.
func compile(p *spec.Seccomp, goarch string) (*Filter, error) {
	if p == nil {
		return nil, errors.New("seccomp: no profile")
	}
	m, ok := machineFor(goarch)
	if !ok {
		return nil, fmt.Errorf("seccomp: no system call tables for %s (crun has them for amd64, arm64, 386 and arm)", goarch)
	}
	def, err := action(p.DefaultAction, p.DefaultErrno)
	if err != nil {
		return nil, fmt.Errorf("seccomp default action: %w", err)
	}
	flags, err := filterFlags(p.Flags)
	if err != nil {
		return nil, err
	}
	arches, warnings, err := m.admit(p.Architectures)
	if err != nil {
		return nil, err
	}
	rules, err := parseRules(p.Syscalls)
	if err != nil {
		return nil, err
	}

	prog, left := program(arches, def, rules)
	warnings = append(warnings, left...)
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: the profile compiles to %d instructions, above the kernel's limit of %d (fewer rules or argument conditions?)", len(prog), unix.BPF_MAXINSNS)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err) // a bug here, not in the profile
	}
	f := &Filter{Program: make([]unix.SockFilter, len(raw)), Flags: flags, Warnings: warnings}
	for i, r := range raw {
		f.Program[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return f, nil
}

// rule is a spec.SeccompRule checked.
type rule struct {
	names []string
	ret   uint32 // SECCOMP_RET_* with its data
	conds []cond
}

func parseRules(rs []spec.SeccompRule) ([]rule, error) {
	rules := make([]rule, len(rs))
	for i, r := range rs {
		where := fmt.Sprintf("seccomp rule %d", i+1)
		switch len(r.Names) {
		case 0:
			return nil, fmt.Errorf("%s: no system call names (want at least one)", where)
		case 1:
			where += fmt.Sprintf(" (%q)", r.Names[0])
		default:
			where += fmt.Sprintf(" (%q and %d more)", r.Names[0], len(r.Names)-1)
		}
		ret, err := action(r.Action, r.Errno)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		rules[i] = rule{names: r.Names, ret: ret}
		for _, a := range r.Args {
			c, err := parseCond(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			rules[i].conds = append(rules[i].conds, c)
		}
	}
	return rules, nil
}

var actionNames = []string{
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
	"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE",
}

// action returns the SECCOMP_RET_* value of an action; errno is the
// profile's for it, if any.
func action(name string, errno *uint32) (uint32, error) {
	// The errno is the 16 bits of SECCOMP_RET_DATA: for ERRNO the
	// error, for TRACE a value the tracer reads.
	data := func(unset uint32) (uint32, error) {
		e := unset
		if errno != nil {
			e = *errno
		}
		if e > unix.SECCOMP_RET_DATA {
			return 0, fmt.Errorf("%s: errno %d does not fit in seccomp's 16 bits of data (want 0 to %d)", name, e, unix.SECCOMP_RET_DATA)
		}
		return e, nil
	}
	switch name {
	case "SCMP_ACT_ALLOW":
		return unix.SECCOMP_RET_ALLOW, nil
	case "SCMP_ACT_ERRNO":
		e, err := data(uint32(unix.EPERM))
		return unix.SECCOMP_RET_ERRNO | e, err
	case "SCMP_ACT_TRACE":
		e, err := data(0)
		return unix.SECCOMP_RET_TRACE | e, err
	case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD":
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case "SCMP_ACT_KILL_PROCESS":
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case "SCMP_ACT_TRAP":
		return unix.SECCOMP_RET_TRAP, nil
	case "SCMP_ACT_LOG":
		return unix.SECCOMP_RET_LOG, nil
	case "SCMP_ACT_NOTIFY":
		return 0, fmt.Errorf("SCMP_ACT_NOTIFY needs a listener for the notifications, which crun does not have (want one of %s)", strings.Join(actionNames, ", "))
	}
	return 0, fmt.Errorf("unknown action %q (want one of %s)", name, strings.Join(actionNames, ", "))
}

const flagsAccepted = "SECCOMP_FILTER_FLAG_LOG or SECCOMP_FILTER_FLAG_SPEC_ALLOW"

func filterFlags(names []string) (uintptr, error) {
	var flags uintptr
	for _, name := range names {
		switch name {
		case "SECCOMP_FILTER_FLAG_LOG":
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// TSYNC would put the filter on the caller's other threads;
			// crun's child loads it while single-threaded, so a profile
			// asking for it expects something that does not happen here.
			return 0, fmt.Errorf("seccomp flag SECCOMP_FILTER_FLAG_TSYNC: refused: crun's child is single-threaded when it loads the filter, there are no threads to synchronise (want %s)", flagsAccepted)
		default:
			return 0, fmt.Errorf("seccomp: unknown flag %q (want %s)", name, flagsAccepted)
		}
	}
	return flags, nil
}
