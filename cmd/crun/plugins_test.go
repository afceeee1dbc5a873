package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenPluginsFailClosed: whatever way a plugin fails, crun names it,
// exits 125, runs nothing and leaves nothing behind. A container never
// runs with a requested plugin missing.
func TestBrokenPluginsFailClosed(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		plugin string
		want   []string
	}{
		{"exitstart", []string{`plugin "exitstart"`, "could not start", "exits at start, as asked"}},
		{"crash", []string{`plugin "crash": contribute`, "panics in Contribute"}},
		{"hang", []string{`plugin "hang": contribute: no answer in time`, "--plugin-timeout"}},
		{"garbage", []string{`plugin "garbage"`, "could not start"}},
		{"nostep", []string{`plugin "nostep" returned an invalid contribution: step 1: no action crun knows`}},
		{"needsnet", []string{`plugin "needsnet": step chdir needs the net namespace, which no enabled plugin provides`}},
		{"future", []string{`plugin "future"`, "Plugin version: 99", "this crun speaks versions 1 to 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			before := snapshot(t)
			marker := filepath.Join(t.TempDir(), "ran")
			r := crun(t, "--plugins", "uts,pid,mnt,"+tt.plugin, "--plugin-timeout", "2s", "run", "touch", marker)
			if r.code != 125 {
				t.Errorf("exit %d, want 125", r.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the command ran with a broken plugin")
			}
			assertNothingLeft(t, before)
		})
	}
}

// TestFrozenProtocolV1Plugin runs a plugin built for protocol 1 from a
// frozen copy of the wire code: crun must keep speaking to it.
func TestFrozenProtocolV1Plugin(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	target := filepath.Join(t.TempDir(), "frozen")
	r := crun(t, "--plugins", "mnt,frozen", "-o", "frozen.path="+target, "run", "sh", "-c",
		`grep -q " `+target+` " /proc/self/mountinfo && echo mounted; echo $FROZEN_V1`)
	if r.code != 0 || r.stdout != "mounted\nyes\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	assertNothingLeft(t, before)
}

// pluginCopy installs the testkit as crun-plugin-NAME in a new directory
// and returns the directory and the file.
func pluginCopy(t *testing.T, name string, mode os.FileMode) (string, string) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(filepath.Join(pluginDir, "crun-plugin-tmpfs"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "crun-plugin-"+name)
	if err := os.WriteFile(file, b, mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(file, mode)
	return dir, file
}

func TestUntrustedPluginFilesAreRefused(t *testing.T) {
	requireRoot(t)
	dir, file := pluginCopy(t, "tmpfs", 0o777)
	r := crun(t, "--plugin-path", dir, "--plugins", "tmpfs", "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "refused: the file is writable by group or others (mode 0777)") {
		t.Errorf("a world-writable plugin: exit %d, stderr %q", r.code, r.stderr)
	}
	os.Chmod(file, 0o755)
	if err := os.Chown(file, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r = crun(t, "--plugin-path", dir, "--plugins", "tmpfs", "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "refused: the file is owned by uid 65534, neither root nor you") {
		t.Errorf("a plugin owned by nobody: exit %d, stderr %q", r.code, r.stderr)
	}
	os.Chown(file, 0, 0)
	os.Chmod(dir, 0o777)
	r = crun(t, "--plugin-path", dir, "--plugins", "tmpfs", "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "refused: its directory") {
		t.Errorf("a plugin in a world-writable directory: exit %d, stderr %q", r.code, r.stderr)
	}
	// crun plugins lists the others and says why this one is refused.
	r = crun(t, "--plugin-path", dir, "plugins")
	if r.code != 125 || !strings.Contains(r.stdout, "uts 0.1.0 (built-in)") || !strings.Contains(r.stderr, `plugin "tmpfs" at `+file+" refused") {
		t.Errorf("crun plugins with a refused plugin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestPinnedPlugins(t *testing.T) {
	requireRoot(t)
	dir, file := pluginCopy(t, "tmpfs", 0o755)
	b, _ := os.ReadFile(file)
	sum := sha256.Sum256(b)
	good := hex.EncodeToString(sum[:])
	bad := strings.Repeat("0", 64)
	target := filepath.Join(t.TempDir(), "t")
	args := func(pin string) []string {
		return []string{"--plugin-path", dir, "--plugins", "mnt,tmpfs", "-o", "tmpfs.path=" + target, "--plugin-sha256", "tmpfs=" + pin, "run", "true"}
	}
	if r := crun(t, args(good)...); r.code != 0 {
		t.Errorf("the right pin: exit %d, stderr %q", r.code, r.stderr)
	}
	r := crun(t, args(bad)...)
	if r.code != 125 || !strings.Contains(r.stderr, "has sha256 "+good+", but it is pinned to "+bad) {
		t.Errorf("a wrong pin: exit %d, stderr %q", r.code, r.stderr)
	}
	// The same from a plugins config file.
	config := filepath.Join(t.TempDir(), "plugins.json")
	os.WriteFile(config, []byte(`{"sha256": {"tmpfs": "`+bad+`"}}`), 0o644)
	t.Setenv("CRUN_PLUGINS_CONFIG", config)
	r = crun(t, "--plugin-path", dir, "--plugins", "mnt,tmpfs", "-o", "tmpfs.path="+target, "run", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "but it is pinned to "+bad) {
		t.Errorf("a wrong pin in the config file: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestPluginsListsBuiltinsAndDiscovered(t *testing.T) {
	r := crun(t, "plugins")
	for _, want := range []string{
		"uts 0.1.0 (built-in)", "chroot 0.1.0 (built-in)", "cgroup 0.1.0 (built-in)",
		"tmpfs 0.0.1 (" + filepath.Join(pluginDir, "crun-plugin-tmpfs") + ")",
		"frozen 1.0.0 (" + filepath.Join(pluginDir, "crun-plugin-frozen") + ")",
		"-o uts.hostname=STRING, default \"container\"", "runs after:  mnt",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("crun plugins lacks %q:\n%s", want, r.stdout)
		}
	}
	// The broken test plugins are reported, not hidden.
	if r.code != 125 || !strings.Contains(r.stderr, `plugin "exitstart"`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
