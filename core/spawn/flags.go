package spawn

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

var mountFlags = []struct {
	name string
	bit  uintptr
}{
	{"ro", unix.MS_RDONLY},
	{"nosuid", unix.MS_NOSUID},
	{"nodev", unix.MS_NODEV},
	{"noexec", unix.MS_NOEXEC},
	{"remount", unix.MS_REMOUNT},
	{"bind", unix.MS_BIND},
	{"rec", unix.MS_REC},
	{"private", unix.MS_PRIVATE},
	{"slave", unix.MS_SLAVE},
	{"shared", unix.MS_SHARED},
	{"unbindable", unix.MS_UNBINDABLE},
	{"relatime", unix.MS_RELATIME},
	{"strictatime", unix.MS_STRICTATIME},
	{"noatime", unix.MS_NOATIME},
}

// MountFlags turns flag names into mount(2) flags.
func MountFlags(names []string) (uintptr, error) {
	var flags uintptr
	for _, n := range names {
		found := false
		for _, f := range mountFlags {
			if f.name == n {
				flags |= f.bit
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown mount flag %q", n)
		}
	}
	return flags, nil
}

// FlagNames prints mount(2) flags by name, for the Recorder and errors.
func FlagNames(flags uintptr) string {
	var names []string
	for _, f := range mountFlags {
		if flags&f.bit != 0 {
			names = append(names, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		names = append(names, fmt.Sprintf("%#x", flags))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, ",")
}

var cloneFlags = map[spec.Namespace]uintptr{
	spec.NamespaceMount:  unix.CLONE_NEWNS,
	spec.NamespaceUTS:    unix.CLONE_NEWUTS,
	spec.NamespaceIPC:    unix.CLONE_NEWIPC,
	spec.NamespaceNet:    unix.CLONE_NEWNET,
	spec.NamespacePID:    unix.CLONE_NEWPID,
	spec.NamespaceUser:   unix.CLONE_NEWUSER,
	spec.NamespaceCgroup: unix.CLONE_NEWCGROUP,
}

// CloneFlags turns namespaces into clone(2) flags.
func CloneFlags(namespaces []spec.Namespace) uintptr {
	var flags uintptr
	for _, ns := range namespaces {
		flags |= cloneFlags[ns]
	}
	return flags
}
