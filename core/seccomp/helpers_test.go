package seccomp

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// Decisions as the tests spell them.
const (
	allow       = unix.SECCOMP_RET_ALLOW
	killProcess = unix.SECCOMP_RET_KILL_PROCESS
	killThread  = unix.SECCOMP_RET_KILL_THREAD
)

func errno(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }

func u32(v uint32) *uint32 { return &v }

// call is a system call as seccomp_data shows it to a filter.
type call struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

// bytes lays c out as the kernel does on a little-endian machine.
func (c call) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], c.nr)
	binary.LittleEndian.PutUint32(b[4:], c.arch)
	binary.LittleEndian.PutUint64(b[8:], 0x7f0000001000) // instruction_pointer, never looked at
	for i, a := range c.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// vm loads f's program, as the kernel would get it, into x/net/bpf's VM.
// NewVM refuses a jump past the end and a program that does not end in a
// return.
func vm(t *testing.T, f *Filter) *bpf.VM {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(f.Program))
	for i, s := range f.Program {
		raw[i] = bpf.RawInstruction{Op: s.Code, Jt: s.Jt, Jf: s.Jf, K: s.K}
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("the program has instructions x/net/bpf does not know")
	}
	v, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("the VM refuses the program: %v", err)
	}
	return v
}

// decide runs the program on c and returns the filter's decision.
func decide(t *testing.T, v *bpf.VM, c call) uint32 {
	t.Helper()
	// The VM loads 32-bit words big-endian, as from a packet; seccomp
	// loads them in the machine's order. Swapping each word's bytes makes
	// the VM read the values the kernel's loads would.
	b := c.bytes()
	for i := 0; i < len(b); i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(b[i:]))
	}
	n, err := v.Run(b)
	if err != nil {
		t.Fatalf("running the program: %v", err)
	}
	return uint32(n)
}

// mustCompile compiles p for goarch's machine.
func mustCompile(t *testing.T, p *spec.Seccomp, goarch string) *Filter {
	t.Helper()
	f, err := compile(p, goarch)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return f
}

// nr is name's number on ar.
func nr(t *testing.T, ar *arch, name string) uint32 {
	t.Helper()
	n, ok := lookup(ar.table, name)
	if !ok {
		t.Fatalf("%s has no %q", ar.name, name)
	}
	return n
}

// expect checks the decisions of f for calls on ar.
type expect struct {
	t  *testing.T
	v  *bpf.VM
	ar *arch
}

func newExpect(t *testing.T, f *Filter, ar *arch) expect {
	return expect{t, vm(t, f), ar}
}

func (e expect) call(name string, want uint32, args ...uint64) {
	e.t.Helper()
	c := call{arch: e.ar.audit, nr: nr(e.t, e.ar, name)}
	copy(c.args[:], args)
	if got := decide(e.t, e.v, c); got != want {
		e.t.Errorf("%s %s%v: decision %#x, want %#x", e.ar.name, name, args, got, want)
	}
}
