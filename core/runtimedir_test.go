package core

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSweepRuntimeDirs: a directory whose owner is no process goes, and
// so does one left without a readable owner file for over a minute (a
// crun killed between making it and writing the file); a live crun's,
// or one just made, stays.
func TestSweepRuntimeDirs(t *testing.T) {
	base := t.TempDir()
	old := time.Now().Add(-2 * ownerlessGrace)
	for name, c := range map[string]struct {
		owner *string
		old   bool
		stays bool
	}{
		"run-dead":          {owner: ptr("2147483646"), stays: false},
		"run-alive":         {owner: ptr(strconv.Itoa(os.Getpid())), old: true, stays: true},
		"run-new-no-owner":  {stays: true},
		"run-old-no-owner":  {old: true, stays: false},
		"run-old-empty":     {owner: ptr(""), old: true, stays: false},
		"run-new-empty":     {owner: ptr(""), stays: true},
		"not-a-runtime-dir": {old: true, stays: true},
		// The owner in the name (crun since issue 15): no grace period.
		"run-2147483646-123":                        {stays: false},
		"run-" + strconv.Itoa(os.Getpid()) + "-123": {old: true, stays: true},
	} {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if c.owner != nil {
			if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(*c.owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if c.old {
			if err := os.Chtimes(dir, old, old); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			if _, err := os.Stat(dir); (err == nil) != c.stays {
				t.Errorf("%s: there after the sweep %v, want %v", name, err == nil, c.stays)
			}
		})
	}
	SweepRuntimeDirs(base)
}

func ptr(s string) *string { return &s }
