package seccomp

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/crun-project/crun/sdk/spec"
)

type op int

const (
	opEQ op = iota
	opNE
	opLT
	opLE
	opGT
	opGE
	opMaskedEQ
)

// opNames is indexed by op.
var opNames = []string{
	"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
	"SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ",
}

// cond is one argument condition of a rule. Comparisons are unsigned, on
// 64 bits, made a 32-bit word at a time: classic BPF has 32-bit
// registers.
type cond struct {
	index uint
	op    op
	value uint64 // for MASKED_EQ, the mask
	want  uint64 // for MASKED_EQ, what the masked argument must equal
}

func parseCond(a spec.SeccompArg) (cond, error) {
	if a.Index > 5 {
		return cond{}, fmt.Errorf("argument index %d above 5 (want 0 to 5: system calls have six arguments)", a.Index)
	}
	o := slices.Index(opNames, a.Op)
	if o < 0 {
		return cond{}, fmt.Errorf("unknown op %q (want one of %s)", a.Op, strings.Join(opNames, ", "))
	}
	c := cond{index: a.Index, op: op(o), value: a.Value}
	if c.op == opMaskedEQ {
		c.want = a.ValueTwo
	}
	return c, nil
}

// verdict is what a condition is before the filter runs.
type verdict int

const (
	open verdict = iota // the argument decides
	always
	never
)

func hi(v uint64) uint32 { return uint32(v >> 32) }
func lo(v uint64) uint32 { return uint32(v) }

// words says which words of the argument the filter must test. On a
// 32-bit architecture the kernel gives a 32-bit argument, zero-extended,
// so only the low words are compared, the argument's and the profile's
// value's: a profile written with 64-bit values (-1 as
// 0xffffffffffffffff) means the same there. A MASKED_EQ whose mask has a
// zero word needs no test of that word: the masked word is 0.
func (c cond) words(wide bool) (testHi, testLo bool) {
	testHi, testLo = wide, true
	if c.op == opMaskedEQ {
		testHi = testHi && hi(c.value) != 0
		testLo = lo(c.value) != 0
	}
	return testHi, testLo
}

// static returns never or always when the words that need no test
// already decide c.
func (c cond) static(wide bool) verdict {
	if c.op != opMaskedEQ {
		return open
	}
	testHi, testLo := c.words(wide)
	if wide && !testHi && hi(c.want) != 0 || !testLo && lo(c.want) != 0 {
		return never // a zero word of the mask, and a 1 in want's
	}
	if !testHi && !testLo {
		return always
	}
	return open
}

// emit writes the test of c (whose static verdict is open): it falls
// through when c holds and jumps to fail when not. Where a test of the
// high words settles c, it jumps past the low word's test.
func (c cond) emit(a *asm, wide bool, fail label) {
	testHi, testLo := c.words(wide)
	holds := a.label()
	ref := c.value
	if c.op == opMaskedEQ {
		ref = c.want
	}
	if testHi {
		h := hi(ref)
		a.load(offArgHi(c.index))
		switch c.op {
		case opEQ:
			a.jumpIf(bpf.JumpEqual, h, next, fail)
		case opMaskedEQ:
			a.and(hi(c.value))
			a.jumpIf(bpf.JumpEqual, h, next, fail)
		case opNE:
			a.jumpIf(bpf.JumpEqual, h, next, holds)
		case opGT, opGE:
			a.jumpIf(bpf.JumpGreaterThan, h, holds, next)
			a.jumpIf(bpf.JumpEqual, h, next, fail)
		case opLT, opLE:
			a.jumpIf(bpf.JumpGreaterOrEqual, h, next, holds)
			a.jumpIf(bpf.JumpEqual, h, next, fail)
		}
		// Here the high words are equal.
	}
	if testLo {
		l := lo(ref)
		a.load(offArgLo(c.index))
		switch c.op {
		case opEQ:
			a.jumpIf(bpf.JumpEqual, l, next, fail)
		case opMaskedEQ:
			a.and(lo(c.value))
			a.jumpIf(bpf.JumpEqual, l, next, fail)
		case opNE:
			a.jumpIf(bpf.JumpEqual, l, fail, next)
		case opGT:
			a.jumpIf(bpf.JumpGreaterThan, l, next, fail)
		case opGE:
			a.jumpIf(bpf.JumpGreaterOrEqual, l, next, fail)
		case opLT:
			a.jumpIf(bpf.JumpGreaterOrEqual, l, fail, next)
		case opLE:
			a.jumpIf(bpf.JumpGreaterThan, l, fail, next)
		}
	}
	a.place(holds)
}
