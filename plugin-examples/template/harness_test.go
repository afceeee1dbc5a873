package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The integration tests run the real crun, built from this repository,
// with the plugin built and installed as a third party would. They need
// root (crun's runtime directory, namespaces); they skip without it,
// except under CI, where a missing privilege fails. This file is the same
// in every example; pluginName is set next to the tests.

var (
	testDir   string // everything the tests build; removed at the end
	crunBin   string
	pluginDir string // holds crun-plugin-NAME, for CRUN_PLUGIN_PATH
	runPrefix string // --name prefix of this process's containers
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		if testDir != "" {
			os.RemoveAll(testDir)
		}
		return 1
	}
	defer os.RemoveAll(testDir)
	return m.Run()
}

// setup builds crun and the plugin. crun refuses a plugin that others
// could replace, so the plugin directory is fresh and 0755, and the
// binary 0755, whatever the umask.
func setup() error {
	var err error
	if testDir, err = os.MkdirTemp("", "crun-example-"+pluginName+"-"); err != nil {
		return err
	}
	crunBin = filepath.Join(testDir, "crun")
	pluginDir = filepath.Join(testDir, "plugins")
	if err := os.Mkdir(pluginDir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(pluginDir, 0o755); err != nil {
		return err
	}
	repoRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	plugin := filepath.Join(pluginDir, "crun-plugin-"+pluginName)
	for _, b := range []struct{ out, pkg, dir string }{
		{crunBin, "./cmd/crun", repoRoot},
		// crun finds its init and its plugin host beside itself.
		{filepath.Join(testDir, "crun-init"), "./cmd/crun-init", repoRoot},
		{filepath.Join(testDir, "crun-plugins"), "./cmd/crun-plugins", repoRoot},
		{plugin, ".", "."},
	} {
		// No VCS stamp: git may refuse a checkout owned by another user,
		// and a test build has no use for one.
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s in %s: %w\n%s", b.pkg, b.dir, err, out)
		}
		if err := os.Chmod(b.out, 0o755); err != nil {
			return err
		}
	}
	runPrefix = "example-" + pluginName + "-" + randomHex()
	return nil
}

// randomHex returns a few random bytes in hex, for unique names.
func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// requireRoot skips a test that needs root, or fails it under CI.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root (crun's runtime directory, namespaces), and CI is set: run the tests as root")
	}
	t.Skip("needs root (crun's runtime directory, namespaces): run the tests as root to include it")
}

type result struct {
	stdout, stderr string
	code           int
}

var runs int

// crunCommand prepares crun with the test plugin on its plugin path and
// a container name of this test process's own, so that leftovers of
// other crun users are not counted as this test's.
func crunCommand(ctx context.Context, args ...string) *exec.Cmd {
	runs++
	args = append([]string{"--name", fmt.Sprintf("%s-%d", runPrefix, runs)}, args...)
	cmd := exec.CommandContext(ctx, crunBin, args...)
	cmd.Env = append(os.Environ(),
		"CRUN_PLUGIN_PATH="+pluginDir,
		// No pins from the host's /etc/crun/plugins.json: the test
		// plugin is built here, with a sum nobody could have pinned.
		"CRUN_PLUGINS_CONFIG="+filepath.Join(testDir, "no-pins.json"))
	return cmd
}

// crun runs crun to completion.
func crun(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := crunCommand(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("crun %q: %v", cmd.Args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// hostState is what a run could leave behind on the host.
type hostState struct {
	mounts     []string
	stateFiles []string
	processes  []string
}

func snapshot(t *testing.T) hostState {
	t.Helper()
	var s hostState
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(line)
		s.mounts = append(s.mounts, f[4]+" "+f[len(f)-2])
	}
	sort.Strings(s.mounts)
	s.stateFiles, _ = filepath.Glob("/run/crun/state/" + runPrefix + "-*")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if exe, err := os.Readlink(p + "/exe"); err == nil && strings.HasPrefix(exe, testDir) {
			s.processes = append(s.processes, p+" "+exe)
		}
	}
	return s
}

// nothingLeft compares the host with a snapshot taken before a run.
func nothingLeft(t *testing.T, before hostState) {
	t.Helper()
	// A plugin process may take a moment to exit after crun returns.
	var after hostState
	for i := 0; i < 100; i++ {
		if after = snapshot(t); len(after.processes) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := added(before.mounts, after.mounts); len(d) > 0 {
		t.Errorf("mounts left on the host: %q", d)
	}
	if d := added(before.stateFiles, after.stateFiles); len(d) > 0 {
		t.Errorf("crun state files left: %q", d)
	}
	if len(after.processes) > 0 {
		t.Errorf("processes of crun or the plugin left: %q", after.processes)
	}
}

// added lists what after has more of than before.
func added(before, after []string) []string {
	count := map[string]int{}
	for _, s := range before {
		count[s]--
	}
	var out []string
	for _, s := range after {
		if count[s]++; count[s] > 0 {
			out = append(out, s)
		}
	}
	return out
}
