// Package nofile records the limit on open files (RLIMIT_NOFILE) that crun
// started with, before the Go runtime raises it.
//
// Package syscall raises the soft limit to the hard one when it is
// initialised, for Go's own sake, and lowers it again only in the children
// that os/exec starts. A child that crun forks itself (package spawn)
// must do the same, or every container would see the raised limit; but
// syscall keeps the original to itself.
//
// So this package reads it first. It imports nothing, and Go initialises
// packages in the order of their import paths among those whose imports
// are initialised: this one ("github.com/...") before "syscall". It reads
// the limit with a system call of its own, in assembly, for the same
// reason.
package nofile

// The limit crun started with, when it could be read.
var cur, max uint64
var known bool

func init() {
	var lim [2]uint64
	if getrlimit(&lim) == 0 {
		cur, max, known = lim[0], lim[1], true
	}
}

// Original returns the soft and hard RLIMIT_NOFILE crun started with; ok
// is false where it could not be read (on architectures other than
// amd64, which package spawn does not serve).
func Original() (soft, hard uint64, ok bool) { return cur, max, known }
