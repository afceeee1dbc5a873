package spec

import (
	"fmt"
	"strings"
)

// CapabilityNames returns the capabilities crun knows, by number: the
// name at index N is capability N (capabilities(7)). A kernel may have
// fewer (crun leaves out what it lacks) or more (added at the end).
func CapabilityNames() []string { return append([]string(nil), capabilityNames[:]...) }

// CapabilityName is the name of capability n ("" for one crun does not
// know).
func CapabilityName(n int) string {
	if n < 0 || n >= len(capabilityNames) {
		return ""
	}
	return capabilityNames[n]
}

var capabilityNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// AllCapabilities, in a capability list, stands for every capability.
const AllCapabilities = "ALL"

// CapabilityNumber returns the number of a capability named with or
// without its CAP_ prefix, in any case.
func CapabilityNumber(name string) (int, error) {
	want := strings.ToUpper(name)
	if !strings.HasPrefix(want, "CAP_") {
		want = "CAP_" + want
	}
	for i, n := range capabilityNames {
		if n == want {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown capability %q (known: CHOWN, DAC_OVERRIDE, ... see capabilities(7); the CAP_ prefix is optional)", name)
}

// checkCapabilities checks a capability list: known names, or ALL alone.
func checkCapabilities(set string, names []string) error {
	for _, n := range names {
		if strings.EqualFold(n, AllCapabilities) {
			if len(names) > 1 {
				return fmt.Errorf("capabilities %s: %s stands alone", set, AllCapabilities)
			}
			continue
		}
		if _, err := CapabilityNumber(n); err != nil {
			return fmt.Errorf("capabilities %s: %w", set, err)
		}
	}
	return nil
}
