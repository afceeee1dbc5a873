//go:build !crun_crashtest

package spawn

const crashTest = false
