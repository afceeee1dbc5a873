//go:build linux && (amd64 || arm64)

package spawn

import "syscall"

// rawVfork makes a system call (clone or clone3) after which a child may
// run on the caller's stack while the caller is suspended (CLONE_VM with
// CLONE_VFORK). On amd64 it keeps its return address in a register across
// the call, so that what the child pushes on the shared stack cannot
// change where the caller returns to. It is how syscall.forkExec starts
// every child; the runtime does not export its own.
func rawVfork(trap, a1, a2, a3 uintptr) (r1 uintptr, errno syscall.Errno)

// canVfork: rawVfork exists here.
const canVfork = true
