//go:build linux && amd64

package nofile

// getrlimit is prlimit64(0, RLIMIT_NOFILE, NULL, lim); it returns the
// kernel's result (0, or -errno).
func getrlimit(lim *[2]uint64) int64
