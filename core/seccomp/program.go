package seccomp

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// x32Bit marks an x32 system call number under AUDIT_ARCH_X86_64.
const x32Bit = 0x40000000

// program lays out the whole filter (see the package doc) and returns it
// with a warning per architecture that lacks system calls the rules name.
func program(arches []*arch, def uint32, rules []rule) ([]bpf.Instruction, []string) {
	var a asm
	starts := make([]label, len(arches))
	a.load(offArch)
	for i, ar := range arches {
		starts[i] = a.label()
		other := a.label()
		a.jumpIf(bpf.JumpEqual, ar.audit, next, other)
		a.jumpTo(starts[i])
		a.place(other)
	}
	a.ret(unix.SECCOMP_RET_KILL_PROCESS)

	var warnings []string
	for i, ar := range arches {
		code, missing := section(ar, def, rules)
		a.place(starts[i])
		a.add(code)
		if len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("seccomp: system calls %s does not have, left out: %s", ar.name, strings.Join(missing, ", ")))
		}
	}
	prog, err := a.code()
	if err != nil {
		panic("seccomp: " + err.Error()) // only ja jumps far here
	}
	return prog, warnings
}

// section is an architecture's chain of blocks, one per system call the
// rules name, in the order the rules first name them. It returns the
// names the architecture does not have, sorted.
func section(ar *arch, def uint32, rules []rule) (code []bpf.Instruction, missing []string) {
	// Two names may have one number: a block per number, with the rules
	// of all its names in order.
	var nrs []uint32
	byNr := map[uint32][]*rule{}
	for i := range rules {
		r := &rules[i]
		for _, name := range r.names {
			nr, ok := lookup(ar.table, name)
			if !ok {
				if !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
				continue
			}
			rs, seen := byNr[nr]
			if !seen {
				nrs = append(nrs, nr)
			}
			if len(rs) == 0 || rs[len(rs)-1] != r {
				byNr[nr] = append(rs, r)
			}
		}
	}
	slices.Sort(missing)

	var a asm
	a.load(offNr)
	if ar.x32 {
		notX32 := a.label()
		a.jumpIf(bpf.JumpBitsSet, x32Bit, next, notX32)
		a.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
		a.place(notX32)
	}
	for _, nr := range nrs {
		b := block(ar, def, byNr[nr])
		if b == nil {
			continue
		}
		skip := a.label()
		if len(b) <= 255 {
			a.jumpIf(bpf.JumpEqual, nr, next, skip)
		} else {
			in := a.label()
			a.jumpIf(bpf.JumpEqual, nr, in, next)
			a.jumpTo(skip)
			a.place(in)
		}
		a.add(b)
		a.place(skip)
	}
	a.ret(def)
	code, err := a.code()
	if err != nil {
		panic("seccomp: " + err.Error()) // blocks were measured
	}
	return code, missing
}

// block tries one system call's rules in order, the first that holds
// giving the action, and returns the default if none does; it always
// ends in a return. It is nil when the call needs no block: no rule can
// change what the default gives.
func block(ar *arch, def uint32, rs []*rule) []bpf.Instruction {
	type live struct {
		r     *rule
		conds []cond // those that need a test here
	}
	var ls []live
	for _, r := range rs {
		l := live{r: r}
		holds := true
		for _, c := range r.conds {
			switch c.static(ar.wide) {
			case never:
				holds = false
			case open:
				l.conds = append(l.conds, c)
			}
		}
		if !holds {
			continue
		}
		ls = append(ls, l)
		if len(l.conds) == 0 {
			break // the rules after one that always holds are never tried
		}
	}
	// Rules at the end that give the default change nothing.
	for len(ls) > 0 && ls[len(ls)-1].r.ret == def {
		ls = ls[:len(ls)-1]
	}
	if len(ls) == 0 {
		return nil
	}

	var a asm
	for _, l := range ls {
		a.add(ruleCode(ar, l.r.ret, l.conds))
	}
	if len(ls[len(ls)-1].conds) > 0 {
		a.ret(def)
	}
	code, err := a.code()
	if err != nil {
		panic("seccomp: " + err.Error()) // pieces only
	}
	return code
}

// ruleCode returns ret if all conds hold, and falls through past its end
// if not. A rule with many conditions is too long for its first test to
// reach the end in one jump: it is laid out again with a ja after each
// condition for its failure.
func ruleCode(ar *arch, ret uint32, conds []cond) []bpf.Instruction {
	for _, far := range []bool{false, true} {
		var a asm
		fail := a.label()
		for _, c := range conds {
			if !far {
				c.emit(&a, ar.wide, fail)
				continue
			}
			failed, held := a.label(), a.label()
			c.emit(&a, ar.wide, failed)
			a.jumpTo(held)
			a.place(failed)
			a.jumpTo(fail)
			a.place(held)
		}
		a.ret(ret)
		a.place(fail)
		if code, err := a.code(); err == nil {
			return code
		}
	}
	panic("seccomp: a condition longer than 255 instructions")
}
