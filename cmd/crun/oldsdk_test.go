package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

// A third-party plugin is built against the sdk of the day and then left
// alone: today's crun must still run it. TestOldSDKPlugin builds the
// template plugin from a commit whose sdk spoke protocol 1 (before
// protocol 2 was negotiated in the handshake) and runs it against the
// crun under test. Unlike TestFrozenProtocolV1Plugin, which uses a copy
// of the wire code kept in this tree, this is the sdk exactly as a plugin
// author had it, with its own go.mod, go.sum and dependencies.

// oldSDKCommit is a commit whose sdk spoke protocol 1 only (issue 16
// names it).
const oldSDKCommit = "d793364"

// oldSDKPlugin is the name the template's Describe returns at
// oldSDKCommit; crun only runs it from a file named crun-plugin-workdir.
const oldSDKPlugin = "workdir"

func TestOldSDKPlugin(t *testing.T) {
	// One build for all the subtests: it is the slow part.
	src, dir := buildOldSDKPlugin(t)
	file := filepath.Join(dir, "crun-plugin-"+oldSDKPlugin)

	t.Run("sdk speaks protocol 1", func(t *testing.T) {
		// The archived sdk says so itself; if oldSDKCommit were moved to
		// a protocol 2 commit, this test would prove nothing.
		b, err := os.ReadFile(filepath.Join(src, "sdk", "spec", "spec.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^const ProtocolVersion = 1$`).Match(b) {
			t.Fatalf("the sdk of %s does not declare ProtocolVersion = 1: pick a protocol 1 commit", oldSDKCommit)
		}
		if spec.ProtocolVersion == 1 {
			t.Logf("this crun speaks protocol 1 only: the old plugin is not older than it")
		}
		// And the handshake settles on it: go-plugin logs the version it
		// agreed on at debug level.
		r := oldSDKCrun(t, "--plugin-path", dir, "--log-level", "debug", "plugins")
		if r.code != 0 || !strings.Contains(r.stderr, "using plugin: version=1") {
			t.Errorf("the handshake did not settle on protocol 1: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("listed", func(t *testing.T) {
		r := oldSDKCrun(t, "--plugin-path", dir, "plugins")
		for _, want := range []string{
			oldSDKPlugin + " 0.1.0 (" + file + ")",
			`-o workdir.path=STRING, default "/"`,
			"uts 0.1.0 (built-in)",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("crun plugins lacks %q:\n%s", want, r.stdout)
			}
		}
		if r.code != 0 || r.stderr != "" {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	// The command shows where it started (getcwd and $PWD: the template
	// sets both) and the hostname, so both the old plugin and a built-in
	// one are seen to have done their part.
	command := []string{"run", "sh", "-c", `/bin/pwd; echo "PWD=$PWD"; cat /proc/sys/kernel/hostname`}
	const want = "/usr/share\nPWD=/usr/share\ncontainer\n"
	args := []string{"--plugin-path", dir, "--plugins", "uts," + oldSDKPlugin, "-o", "workdir.path=/usr/share"}

	// The plugin file is new (the plan cache keys on its inode and
	// times), so this first run plans with the old plugin, not the cache.
	t.Run("runs", func(t *testing.T) {
		requireRoot(t)
		before := snapshot(t)
		r := oldSDKCrun(t, append(args, command...)...)
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("exit %d, stdout %q (want %q), stderr %q", r.code, r.stdout, want, r.stderr)
		}
		assertNothingLeft(t, before)
	})

	t.Run("trace", func(t *testing.T) {
		requireRoot(t)
		before := snapshot(t)
		// --no-cache: "runs" may have cached the plan, and this run is
		// to show the old plugin planning.
		r := oldSDKCrun(t, append(append([]string{"--trace", "--no-cache"}, args...), command...)...)
		if r.code != 0 || r.stdout != want {
			t.Errorf("exit %d, stdout %q (want %q), stderr %q", r.code, r.stdout, want, r.stderr)
		}
		if !strings.Contains(r.stderr, "workdir: chdir /usr/share") {
			t.Errorf("the trace does not show the plugin's chdir to /usr/share:\n%s", r.stderr)
		}
		// A protocol mismatch crun worked around would show up here as a
		// warning or an error; a clean run has none.
		lower := strings.ToLower(r.stderr)
		for _, alarm := range []string{"warning", "error", "fail", "panic", "protocol", "cleaning up after"} {
			if strings.Contains(lower, alarm) {
				t.Errorf("the trace says %q:\n%s", alarm, r.stderr)
			}
		}
		assertNothingLeft(t, before)
	})
}

// oldSDKCrun runs crun with no plugin path but its flags and the default
// one: CRUN_PLUGIN_PATH (set by crunCmd) holds the test plugins, some
// broken on purpose and one itself protocol 1, which would muddle what
// crun plugins and the debug log say about the old plugin.
func oldSDKCrun(t *testing.T, args ...string) result {
	t.Helper()
	return runToEnd(t, func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, crunBin, args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "CRUN_PLUGIN_PATH=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		return cmd
	})
}

// buildOldSDKPlugin extracts oldSDKCommit into a temporary directory and
// builds its template plugin there, against that commit's sdk (the
// template's go.mod replaces the crun module with ../..). It returns the
// extracted tree and the plugin directory holding crun-plugin-workdir.
func buildOldSDKPlugin(t *testing.T) (src, dir string) {
	t.Helper()
	// A missing git or a shallow clone is the checkout's limit, not a
	// failure of crun, except under CI, which must run this test.
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format+"; CI is set, so this test must run: fetch the full history (git fetch --unshallow)", args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("git"); err != nil {
		unavailable("no git to extract commit %s: %v", oldSDKCommit, err)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		unavailable("not in a git checkout, so commit %s cannot be extracted: %v", oldSDKCommit, err)
	}
	repo := strings.TrimSpace(string(top))
	if err := exec.Command("git", "-C", repo, "cat-file", "-e", oldSDKCommit+"^{commit}").Run(); err != nil {
		unavailable("commit %s is not in %s (a shallow clone?)", oldSDKCommit, repo)
	}

	tmp := t.TempDir()
	src = filepath.Join(tmp, "src")
	tarball := filepath.Join(tmp, "old.tar")
	run := func(cmd *exec.Cmd) {
		t.Helper()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
	}
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	// git archive, not a worktree: the checkout is left untouched.
	run(exec.Command("git", "-C", repo, "archive", "-o", tarball, oldSDKCommit))
	run(exec.Command("tar", "-x", "-f", tarball, "-C", src))

	dir = filepath.Join(tmp, "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "crun-plugin-"+oldSDKPlugin)
	build := exec.Command("go", "build", "-o", file, ".")
	build.Dir = filepath.Join(src, "plugin-examples", "template")
	// Static, like the test plugins; GOWORK=off so that a go.work of the
	// developer's cannot swap today's sdk in. Modules come from the cache
	// or the proxy, checked against the old go.sum.
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	run(build)
	// crun refuses a plugin file others can write; go build honours the
	// umask, which may leave it group-writable.
	if err := os.Chmod(file, 0o755); err != nil {
		t.Fatal(err)
	}
	return src, dir
}
