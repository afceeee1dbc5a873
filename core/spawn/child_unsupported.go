//go:build !linux || s390x

package spawn

import "syscall"

// supported is false: clone(2) takes its arguments in another order on
// s390x, and the child's code is written for the usual one. crun-init
// runs every plan there.
const supported = false

const canVfork = false

func (p *Program) fork(*cloneArgs, bool) (uintptr, syscall.Errno) { return 0, syscall.ENOSYS }
