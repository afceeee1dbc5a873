package spawn

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/seccomp"
	"github.com/crun-project/crun/sdk/spec"
)

// Compiling the restrict phase's steps: what the child needs, as numbers.

// rlimitResources maps the contract's resource names to this machine's
// numbers.
var rlimitResources = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

func compileRlimit(r *spec.Rlimit) (step, error) {
	name, err := spec.RlimitName(r.Resource)
	if err != nil {
		return step{}, err
	}
	return step{op: opRlimit, resource: rlimitResources[name], rlim: unix.Rlimit{Cur: r.Soft, Max: r.Hard}}, nil
}

// capabilities are a Capabilities step's sets, as the kernel takes them.
type capabilities struct {
	// lastCap is the highest capability this kernel has: the bounding set
	// is cut from 0 to it.
	lastCap  uintptr
	bounding uint64
	ambient  uint64
	header   unix.CapUserHeader
	data     [2]unix.CapUserData // capabilities 0-31, 32-63
}

// kernelLastCap reads the highest capability number the kernel has.
func kernelLastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return len(spec.CapabilityNames()) - 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 63 {
		return len(spec.CapabilityNames()) - 1
	}
	return n
}

func compileCapabilities(c *spec.Capabilities) (*capabilities, error) {
	last := kernelLastCap()
	mask := func(names []string) (uint64, error) {
		var m uint64
		for _, n := range names {
			if strings.EqualFold(n, spec.AllCapabilities) {
				return 1<<(last+1) - 1, nil
			}
			bit, err := spec.CapabilityNumber(n)
			if err != nil {
				return 0, err
			}
			if bit <= last { // one the kernel lacks is left out
				m |= 1 << bit
			}
		}
		return m, nil
	}
	caps := &capabilities{lastCap: uintptr(last), header: unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}}
	var sets [5]uint64
	for i, names := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		m, err := mask(names)
		if err != nil {
			return nil, err
		}
		sets[i] = m
	}
	effective, permitted, inheritable := sets[1], sets[2], sets[3]
	caps.bounding, caps.ambient = sets[0], sets[4]
	if effective&^permitted != 0 {
		return nil, fmt.Errorf("effective capabilities that are not permitted: %s", capNames(effective&^permitted))
	}
	if missing := caps.ambient &^ (permitted & inheritable); missing != 0 {
		return nil, fmt.Errorf("ambient capabilities must be permitted and inheritable too: %s", capNames(missing))
	}
	for half := 0; half < 2; half++ {
		shift := 32 * half
		caps.data[half] = unix.CapUserData{Effective: uint32(effective >> shift),
			Permitted: uint32(permitted >> shift), Inheritable: uint32(inheritable >> shift)}
	}
	return caps, nil
}

func capNames(m uint64) string {
	var names []string
	for i := 0; i < 64; i++ {
		if name := spec.CapabilityName(i); m&(1<<i) != 0 && name != "" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// seccompProgram is a filter ready for seccomp(2).
type seccompProgram struct {
	filter []unix.SockFilter
	fprog  unix.SockFprog // points into filter
	flags  uintptr
	// warnings say what the filter leaves out (system calls this
	// machine lacks; a profile made for several has many): --trace
	// shows them.
	warnings []string
}

func compileSeccomp(p *spec.Seccomp) (*seccompProgram, error) {
	f, err := seccomp.Compile(p)
	if err != nil {
		return nil, err
	}
	sp := &seccompProgram{filter: f.Program, flags: f.Flags, warnings: f.Warnings}
	sp.fprog = unix.SockFprog{Len: uint16(len(f.Program)), Filter: &sp.filter[0]}
	return sp, nil
}
