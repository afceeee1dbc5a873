package seccomp

import (
	"errors"

	"golang.org/x/net/bpf"
)

// asm builds a piece of program whose jumps name labels, so that code
// can jump to what is not written yet; code resolves them into classic
// BPF's forward offsets. A resolved piece is self-contained (its jumps
// land inside it or just past its end), so pieces are joined as they are.
type asm struct {
	ins    []bpf.Instruction
	jumps  []jump
	labels []int // position of each label; -1 until placed
}

type label int

// next is the instruction after the jump: a jump's fall-through.
const next label = -1

type jump struct {
	at     int
	jt, jf label // a ja has only jt
}

// errFar: a conditional jump would skip more than 255 instructions.
var errFar = errors.New("conditional jump out of range")

// SECCOMP_DATA offsets. Words are loaded in the machine's order, and the
// machines crun has tables for are little-endian: an argument's low word
// comes first.
const (
	offNr   = 0
	offArch = 4
)

func offArgLo(i uint) uint32 { return 16 + 8*uint32(i) }
func offArgHi(i uint) uint32 { return 16 + 8*uint32(i) + 4 }

func (a *asm) label() label {
	a.labels = append(a.labels, -1)
	return label(len(a.labels) - 1)
}

func (a *asm) place(l label) { a.labels[l] = len(a.ins) }

func (a *asm) load(off uint32) { a.ins = append(a.ins, bpf.LoadAbsolute{Off: off, Size: 4}) }

func (a *asm) and(mask uint32) {
	if mask != 0xffffffff {
		a.ins = append(a.ins, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
	}
}

func (a *asm) ret(v uint32) { a.ins = append(a.ins, bpf.RetConstant{Val: v}) }

// jumpIf jumps to jt if A cond v holds, else to jf. Use only the tests
// classic BPF encodes directly (equal, greater, greater or equal, bits
// set): what x/net/bpf encodes by swapping targets is clearer done here.
func (a *asm) jumpIf(cond bpf.JumpTest, v uint32, jt, jf label) {
	a.jumps = append(a.jumps, jump{len(a.ins), jt, jf})
	a.ins = append(a.ins, bpf.JumpIf{Cond: cond, Val: v})
}

// jumpTo is ja: its offset has 32 bits.
func (a *asm) jumpTo(l label) {
	a.jumps = append(a.jumps, jump{at: len(a.ins), jt: l})
	a.ins = append(a.ins, bpf.Jump{})
}

// add joins a resolved piece.
func (a *asm) add(piece []bpf.Instruction) { a.ins = append(a.ins, piece...) }

// code resolves the labels. It returns errFar when a conditional jump is
// out of range; callers lay code out so that this does not happen, or
// lay it out again another way when it does.
func (a *asm) code() ([]bpf.Instruction, error) {
	skip := func(j jump, l label) int {
		if l == next {
			return 0
		}
		if a.labels[l] < 0 {
			panic("seccomp: jump to a label never placed")
		}
		n := a.labels[l] - (j.at + 1)
		if n < 0 {
			panic("seccomp: a jump backwards")
		}
		return n
	}
	for _, j := range a.jumps {
		switch ins := a.ins[j.at].(type) {
		case bpf.Jump:
			ins.Skip = uint32(skip(j, j.jt))
			a.ins[j.at] = ins
		case bpf.JumpIf:
			t, f := skip(j, j.jt), skip(j, j.jf)
			if t > 255 || f > 255 {
				return nil, errFar
			}
			ins.SkipTrue, ins.SkipFalse = uint8(t), uint8(f)
			a.ins[j.at] = ins
		}
	}
	return a.ins, nil
}
