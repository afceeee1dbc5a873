//go:build !(linux && amd64)

package spawn

import "syscall"

// supported is false: the child's code, its assembly and its tests are
// for linux/amd64. crun-init runs every plan elsewhere.
const supported = false

func (p *Program) fork(*cloneArgs, bool) (uintptr, syscall.Errno) { return 0, syscall.ENOSYS }
