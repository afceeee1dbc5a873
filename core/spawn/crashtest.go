//go:build crun_crashtest

package spawn

// crashTest: this is a test build (go build -tags crun_crashtest), whose
// child faults on purpose, to show that crun survives it.
const crashTest = true
