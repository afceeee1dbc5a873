package seccomp

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// holds is what each op means, on 64 bits, unsigned.
func holds(op string, arg, value, valueTwo uint64) bool {
	switch op {
	case "SCMP_CMP_EQ":
		return arg == value
	case "SCMP_CMP_NE":
		return arg != value
	case "SCMP_CMP_LT":
		return arg < value
	case "SCMP_CMP_LE":
		return arg <= value
	case "SCMP_CMP_GT":
		return arg > value
	case "SCMP_CMP_GE":
		return arg >= value
	case "SCMP_CMP_MASKED_EQ":
		return arg&value == valueTwo
	}
	panic(op)
}

// Values where the high and the low words each decide.
var edges = []uint64{
	0, 1, 4, 5, 6, 0xfffffffe, 0xffffffff,
	1 << 32, 1<<32 | 4, 1<<32 | 5, 1<<32 | 6, 1<<32 | 0xffffffff,
	2 << 32, 2<<32 | 5, 0xfffffffe_00000005, 0xffffffff_fffffffe, 0xffffffff_ffffffff,
}

func TestEachComparisonOpOnBothWordsAgreesWithItsMeaning(t *testing.T) {
	for _, op := range []string{"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE"} {
		for _, value := range edges {
			checkOp(t, op, value, 0, edges)
		}
	}
}

func TestMaskedEqualOnTheLowWordTheHighWordAndBoth(t *testing.T) {
	args := append([]uint64{0x12, 0x1234, 0x12_00000000, 0x12_00000012, 0x1234_00005678, 0x1234_10005678, 0x34_00000012}, edges...)
	for _, m := range []struct{ mask, want uint64 }{
		{0xff, 0x12},                               // the low word only
		{0xff_00000000, 0x12_00000000},             // the high word only
		{0xffff_0000ffff, 0x1234_00005678},         // both
		{0xffffffff_ffffffff, 0x12},                // the whole argument
		{0xff, 0x12_00000012},                      // a bit outside the mask: never
		{0xff_00000000, 0x12},                      // the same, in the low word
		{0, 0},                                     // always
		{0x7e020000, 0},                            // clone's flags test in Docker's profile
		{0xffffffff_00000000, 0xffffffff_00000000}, // a negative int's sign extension
	} {
		checkOp(t, "SCMP_CMP_MASKED_EQ", m.mask, m.want, args)
	}
}

// checkOp compiles a rule "arg 2 op value" and checks its decision for
// each arg on x86_64 (64-bit arguments) and on i386 (32-bit arguments,
// whose sections compare the low words only).
func checkOp(t *testing.T, op string, value, valueTwo uint64, args []uint64) {
	t.Helper()
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO",
		Architectures: []string{"SCMP_ARCH_X86"},
		Syscalls: []spec.SeccompRule{{
			Names: []string{"ioctl"}, Action: "SCMP_ACT_ALLOW",
			Args: []spec.SeccompArg{{Index: 2, Value: value, ValueTwo: valueTwo, Op: op}},
		}},
	}
	v := vm(t, mustCompile(t, p, "amd64"))
	for _, ar := range []*arch{archX86_64, archI386} {
		for _, arg := range args {
			c := call{arch: ar.audit, nr: nr(t, ar, "ioctl")}
			c.args[2] = arg
			want := holds(op, arg, value, valueTwo)
			if !ar.wide {
				c.args[2] = uint64(uint32(arg)) // the kernel zero-extends
				want = holds(op, uint64(uint32(arg)), uint64(uint32(value)), uint64(uint32(valueTwo)))
			}
			got := decide(t, v, c) == allow
			if got != want {
				t.Errorf("%s: %#x %s %s: holds %v, want %v", ar.name, c.args[2], op, operands(value, valueTwo, op), got, want)
			}
			// The other arguments play no part.
			c.args[1], c.args[3] = value, ^value
			if got2 := decide(t, v, c) == allow; got2 != got {
				t.Errorf("%s: %#x %s %s: the other arguments change the decision", ar.name, c.args[2], op, operands(value, valueTwo, op))
			}
		}
	}
}

func operands(value, valueTwo uint64, op string) string {
	if op == "SCMP_CMP_MASKED_EQ" {
		return fmt.Sprintf("%#x == %#x", value, valueTwo)
	}
	return fmt.Sprintf("%#x", value)
}

func TestOnAThirtyTwoBitArchitectureSixtyFourBitValuesMeanTheirLowWords(t *testing.T) {
	// -1 written as a 64-bit value matches a 32-bit -1.
	p := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ALLOW",
		Syscalls: []spec.SeccompRule{{
			Names: []string{"fchown"}, Action: "SCMP_ACT_ERRNO",
			Args: []spec.SeccompArg{{Index: 1, Value: 0xffffffff_ffffffff, Op: "SCMP_CMP_EQ"}},
		}},
	}
	e := newExpect(t, mustCompile(t, p, "386"), archI386)
	e.call("fchown", errno(unix.EPERM), 3, 0xffffffff)
	e.call("fchown", allow, 3, 1000)
}
