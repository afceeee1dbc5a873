//go:build linux && !(amd64 || arm64)

package spawn

import "syscall"

// Without rawVfork the child is a plain fork: a copy of crun's memory.
func rawVfork(trap, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	r1, _, errno := syscall.RawSyscall(trap, a1, a2, a3)
	return r1, errno
}

const canVfork = false
