package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// specBundle makes a bundle with a fresh rootfs and crun spec's
// config.json, edited by edit, and returns the bundle.
func specBundle(t *testing.T, edit func(config map[string]any)) string {
	t.Helper()
	requireRoot(t)
	bundle := t.TempDir()
	freshRootfs(t, bundle)
	if r := crun(t, "spec", "--bundle", bundle); r.code != 0 {
		t.Fatalf("crun spec: exit %d, stderr %s", r.code, r.stderr)
	}
	file := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var config map[string]any
	if err := json.Unmarshal(data, &config); err != nil {
		t.Fatalf("crun spec wrote malformed JSON: %v", err)
	}
	if edit != nil {
		edit(config)
		if data, err = json.Marshal(config); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bundle
}

func TestSpecRefusesToOverwrite(t *testing.T) {
	bundle := specBundle(t, nil)
	before, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	r := crun(t, "spec", "--bundle", bundle)
	after, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "exists") || string(before) != string(after) {
		t.Errorf("second crun spec: exit %d, stderr %q; file changed: %v", r.code, r.stderr, string(before) != string(after))
	}
}

// TestOCIRunBundle: runc's run on a bundle from crun spec, with the
// hostname and working directory config.json gives.
func TestOCIRunBundle(t *testing.T) {
	bundle := specBundle(t, func(c map[string]any) {
		c["hostname"] = "ocibox"
		p := c["process"].(map[string]any)
		p["args"] = []string{"sh", "-c", "hostname; id -u; pwd"}
		p["cwd"] = "/etc"
	})
	before := snapshot(t)
	r := crun(t, "run", "--bundle", bundle, fmt.Sprintf("oci-%d", os.Getpid()))
	if r.code != 0 || r.stdout != "ocibox\n0\n/etc\n" {
		t.Errorf("crun run --bundle: exit %d, stdout %q, stderr %q; want ocibox, 0, /etc", r.code, r.stdout, r.stderr)
	}
	assertNothingLeft(t, before)
}

func TestOCIPlanBundle(t *testing.T) {
	bundle := specBundle(t, func(c map[string]any) {
		c["process"].(map[string]any)["cwd"] = "/tmp"
	})
	r := crun(t, "plan", "--bundle", bundle)
	if r.code != 0 {
		t.Fatalf("crun plan --bundle: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWPID",
		`sethostname "crun"`,
		"pivot_root " + filepath.Join(bundle, "rootfs"),
		"(remount,bind,ro,nodev)", // root.readonly
		"chdir /tmp",
		"hide /proc/kcore",
		"set no_new_privs",
		"run as uid 0, gid 0, supplementary groups none",
		"bounding KILL,NET_BIND_SERVICE,AUDIT_WRITE",
		"exec:        sh",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan does not say %q:\n%s", want, r.stdout)
		}
	}
	// crun's own environment is not added to config.json's.
	if strings.Contains(r.stdout, "HOME=") {
		t.Errorf("the plan's environment has crun's HOME:\n%s", r.stdout)
	}
}

// TestOCIBadBundles: each refused with exit 1 (runc's), the file or field
// named, nothing left behind.
func TestOCIBadBundles(t *testing.T) {
	requireRoot(t)
	write := func(config string) string {
		bundle := t.TempDir()
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		return bundle
	}
	for _, tc := range []struct {
		name, bundle string
		args         []string
		want         []string
	}{
		{"missing config.json", t.TempDir(), nil, []string{"has no config.json", "crun spec --bundle"}},
		{"malformed", write("{\n \"ociVersion\": \"1.0.0\",\n \"process\": [}"), nil, []string{"config.json", "malformed JSON at line 3"}},
		{"ociVersion 2", write(`{"ociVersion": "2.0.0", "root": {"path": "rootfs"}}`), nil, []string{`ociVersion "2.0.0"`}},
		{"network namespace", specBundle(t, func(c map[string]any) {
			l := c["linux"].(map[string]any)
			l["namespaces"] = append(l["namespaces"].([]any), map[string]any{"type": "network"})
		}), nil, []string{"linux.namespaces[3] (network): crun has no plugin for it yet"}},
		{"rlimits", specBundle(t, func(c map[string]any) {
			c["process"].(map[string]any)["rlimits"] = []any{map[string]any{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}}
		}), nil, []string{"config.json: process.rlimits[0].type: crun does not implement it yet"}},
		{"terminal", specBundle(t, func(c map[string]any) { c["process"].(map[string]any)["terminal"] = true }),
			nil, []string{"process.terminal", "--console-socket"}},
		{"a flag config.json gives", specBundle(t, nil), []string{"--hostname", "x"}, []string{"--hostname: config.json in the bundle says that"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t)
			for _, verb := range []string{"run", "plan"} {
				args := append([]string{verb, "--bundle", tc.bundle}, tc.args...)
				r := crun(t, args...)
				if r.code != 1 {
					t.Errorf("crun %s: exit %d, want 1; stderr %q", strings.Join(args, " "), r.code, r.stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("crun %s: stderr %q does not say %q", verb, r.stderr, w)
					}
				}
				if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines > 0 {
					t.Errorf("crun %s: %d lines of error, want one:\n%s", verb, lines+1, r.stderr)
				}
			}
			assertNothingLeft(t, before)
		})
	}
}

// TestOCIFeatures: crun features prints runtime-spec's features JSON.
func TestOCIFeatures(t *testing.T) {
	r := crun(t, "features")
	var f struct {
		OCIVersionMax string `json:"ociVersionMax"`
		Linux         struct {
			Namespaces []string `json:"namespaces"`
		} `json:"linux"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &f) != nil || f.OCIVersionMax == "" || !slices.Contains(f.Linux.Namespaces, "pid") {
		t.Errorf("exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}
