package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

// writeSecret makes a secret file for a test and returns its path.
func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	db := writeSecret(t, "db", "hunter2")
	api := writeSecret(t, "api", "swordfish")
	rootfs := t.TempDir()
	big := writeSecret(t, "big", strings.Repeat("x", 1<<20+1))
	opts := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	sdktest.Conformance(t, Secrets{},
		sdktest.Case{Name: "one secret", Options: opts("db", db), Plugins: []string{"mnt"}},
		sdktest.Case{Name: "two secrets", Options: opts("db", db, "api-key", api), Plugins: []string{"mnt"}},
		sdktest.Case{Name: "without mnt", Options: opts("db", db)},
		sdktest.Case{Name: "with chroot", Options: opts("db", db), Plugins: []string{"mnt", "chroot"}, Facts: map[string]string{"chroot.rootfs": rootfs}},
		sdktest.Case{Name: "chroot without a rootfs", Options: opts("db", db), Plugins: []string{"mnt", "chroot"}, WantErr: true},
		sdktest.Case{Name: "a rootfs without chroot", Options: opts("db", db), Plugins: []string{"mnt"}, Facts: map[string]string{"chroot.rootfs": rootfs}},
		sdktest.Case{Name: "relative rootfs", Options: opts("db", db), Plugins: []string{"chroot"}, Facts: map[string]string{"chroot.rootfs": "rootfs"}, WantErr: true},
		sdktest.Case{Name: "rootfs not a directory", Options: opts("db", db), Plugins: []string{"chroot"}, Facts: map[string]string{"chroot.rootfs": db}, WantErr: true},
		sdktest.Case{Name: "bad name", Options: opts("DB", db), WantErr: true},
		sdktest.Case{Name: "relative file", Options: opts("db", "db"), WantErr: true},
		sdktest.Case{Name: "no file", Options: opts("db", ""), WantErr: true},
		sdktest.Case{Name: "missing file", Options: opts("db", db+".missing"), WantErr: true},
		sdktest.Case{Name: "a directory", Options: opts("db", filepath.Dir(db)), WantErr: true},
		sdktest.Case{Name: "too big", Options: opts("big", big), WantErr: true},
	)
}

func TestContribute(t *testing.T) {
	const content = "hunter2-do-not-leak"
	db := writeSecret(t, "db", content)
	api := writeSecret(t, "api", "swordfish")
	rootfs := t.TempDir()
	for _, tc := range []struct {
		name    string
		plugins []string
		root    string
		warn    bool
	}{
		{name: "mnt", plugins: []string{"mnt", "secrets"}},
		{name: "no mnt", plugins: []string{"secrets"}, warn: true},
		{name: "chroot", plugins: []string{"mnt", "secrets", "chroot"}, root: rootfs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Secrets{}.Contribute(sdktest.Context(t), spec.ContributeRequest{
				Options: map[string]string{"db": db, "api": api}, Plugins: tc.plugins,
				Features: []string{spec.FeatureFacts}, Facts: map[string]string{"chroot.rootfs": tc.root},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Env) != 0 {
				t.Errorf("env %q: a secret must never be in the environment", c.Env)
			}
			if len(c.Steps) != 3 {
				t.Fatalf("steps %+v, want a tmpfs and two copies", c.Steps)
			}
			m := c.Steps[0].Mount
			if m == nil || m.FSType != "tmpfs" || m.Target != "/run/secrets" || m.Root != tc.root || !m.CreateTarget ||
				!slices.Equal(m.Flags, []string{"nosuid", "nodev", "noexec"}) || m.Data != "mode=0700,size=1m" {
				t.Errorf("first step %+v, want the tmpfs at /run/secrets", m)
			}
			for i, want := range []struct{ source, target string }{{api, "/run/secrets/api"}, {db, "/run/secrets/db"}} {
				s := c.Steps[i+1]
				cp := s.CopyFile
				if cp == nil || cp.Source != want.source || cp.Target != want.target || cp.Mode != 0o400 || cp.Root != tc.root {
					t.Errorf("step %d: %+v, want a copy of %s to %s, mode 0400", i+2, cp, want.source, want.target)
				}
			}
			for _, s := range c.Steps {
				if s.Phase != spec.PhaseMount {
					t.Errorf("step %+v in phase %s, want mount (before the root switch, while FILE is in reach)", s, s.Phase)
				}
			}
			if got := len(c.Warnings) > 0; got != tc.warn {
				t.Errorf("warnings %q, want a warning: %v", c.Warnings, tc.warn)
			}
			if b, _ := json.Marshal(c); strings.Contains(string(b), content) {
				t.Errorf("the secret's content is in the contribution: %s", b)
			}
		})
	}
}

// TestOldCrun: with chroot, a crun that does not give facts (protocol 1)
// gets a clear error, not secrets outside the container's root.
func TestOldCrun(t *testing.T) {
	db := writeSecret(t, "db", "x")
	_, err := Secrets{}.Contribute(sdktest.Context(t), spec.ContributeRequest{
		Options: map[string]string{"db": db}, Plugins: []string{"mnt", "secrets", "chroot"}, Protocol: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "speaks plugin protocol 1): upgrade crun") {
		t.Errorf("got %v", err)
	}
}
