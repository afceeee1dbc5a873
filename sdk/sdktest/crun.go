package sdktest

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
	"sync"
	"testing"
	"time"
)

// The helpers below test a plugin for real: the crun binary runs the
// plugin, built and installed as a third party would install it, and the
// test asserts what the container and the host see, and that nothing is
// left behind. They need root (namespaces, crun's runtime directory).

// RequireRoot skips a test that needs root, with a message saying so, or
// fails it when the environment variable CI is set: a CI that skips the
// privileged tests hides broken isolation.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root (namespaces, crun's runtime directory), and CI is set: run the tests as root")
	}
	t.Skip("needs root (namespaces, crun's runtime directory): run the tests as root to include it")
}

// BuildPlugin builds the plugin's main package in pkgDir as
// crun-plugin-NAME in pluginDir, which it makes. crun refuses a plugin
// file, or a directory holding one, that others could replace: both are
// made 0755 whatever the umask.
func BuildPlugin(pkgDir, pluginDir, name string) (string, error) {
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(pluginDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(pluginDir, "crun-plugin-"+name)
	return out, GoBuild(pkgDir, ".", out)
}

// GoBuild runs go build of pkg in dir into out, mode 0755. No VCS stamp:
// git may refuse a checkout owned by another user, and a test build has
// no use for one.
func GoBuild(dir, pkg, out string) error {
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, dir, err, b)
	}
	return os.Chmod(out, 0o755)
}

// Crun runs a crun binary with a plugin directory on its plugin path.
type Crun struct {
	// Bin is the crun binary (crun-plugins beside it).
	Bin string
	// PluginDir holds the plugins under test, as crun-plugin-NAME.
	PluginDir string
	// Prefix names this test process's containers (--name PREFIX-N), so
	// that other crun users' containers are not counted as leftovers.
	Prefix string
	// Owned is a directory the test's binaries live under: a process
	// whose executable is there is this test's (a leftover, after a run).
	Owned string

	mu   sync.Mutex
	runs int
}

// BuildFromRepo builds crun and crun-plugins from the crun
// repository at repoRoot, and the plugin's main package in pluginPkg as
// crun-plugin-NAME, into a new temporary directory, and returns a Crun
// that runs them. Remove it when done. (For plugins kept in crun's
// repository, as plugin-examples are; a third party builds crun its own
// way and fills a Crun itself.)
func BuildFromRepo(repoRoot, pluginPkg, name string) (*Crun, error) {
	dir, err := os.MkdirTemp("", "crun-example-"+name+"-")
	if err != nil {
		return nil, err
	}
	c := &Crun{Bin: filepath.Join(dir, "crun"), PluginDir: filepath.Join(dir, "plugins"),
		Prefix: "example-" + name + "-" + RandomHex(), Owned: dir}
	for _, bin := range []string{"crun", "crun-plugins"} {
		if err := GoBuild(repoRoot, "./cmd/"+bin, filepath.Join(dir, bin)); err != nil {
			c.Remove()
			return nil, err
		}
	}
	if _, err := BuildPlugin(pluginPkg, c.PluginDir, name); err != nil {
		c.Remove()
		return nil, err
	}
	return c, nil
}

// Remove deletes the directory BuildFromRepo made.
func (c *Crun) Remove() { os.RemoveAll(c.Owned) }

// RandomHex returns six random bytes in hex, for names no other test
// run uses.
func RandomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Result is one finished run of crun.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Command prepares crun with the given arguments, a container name of
// its own, the plugin directory on its plugin path, and no pins from the
// host (the plugin was just built: nobody could have pinned its sum).
func (c *Crun) Command(ctx context.Context, args ...string) *exec.Cmd {
	c.mu.Lock()
	c.runs++
	name := fmt.Sprintf("%s-%d", c.Prefix, c.runs)
	c.mu.Unlock()
	cmd := exec.CommandContext(ctx, c.Bin, append([]string{"--name", name}, args...)...)
	cmd.Env = append(os.Environ(),
		"CRUN_PLUGIN_PATH="+c.PluginDir,
		"CRUN_PLUGINS_CONFIG="+filepath.Join(c.PluginDir, "no-such-pins.json"))
	return cmd
}

// Run runs crun to completion (a minute at most).
func (c *Crun) Run(t testing.TB, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := c.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("crun %q: %v", cmd.Args, err)
		}
		r.Code = ee.ExitCode()
	}
	return r
}

// HostState is what a run could leave behind on the host.
type HostState struct {
	Mounts     []string
	StateFiles []string
	Processes  []string
}

// stateDir is where crun, run as root, keeps its state files.
const stateDir = "/run/crun-go/state"

// Snapshot records the host's mounts, crun's state files for this
// test's containers, and the processes of this test's binaries.
func (c *Crun) Snapshot(t testing.TB) HostState {
	t.Helper()
	var s HostState
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(line)
		s.Mounts = append(s.Mounts, f[4]+" "+f[len(f)-2])
	}
	sort.Strings(s.Mounts)
	s.StateFiles, _ = filepath.Glob(filepath.Join(stateDir, c.Prefix+"-*"))
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if exe, err := os.Readlink(p + "/exe"); err == nil && c.Owned != "" && strings.HasPrefix(exe, c.Owned) {
			s.Processes = append(s.Processes, p+" "+exe)
		}
	}
	return s
}

// NothingLeft compares the host with a snapshot taken before a run: no
// new mount, state file or process.
func (c *Crun) NothingLeft(t testing.TB, before HostState) {
	t.Helper()
	// A plugin process may take a moment to exit after crun returns.
	var after HostState
	for i := 0; i < 100; i++ {
		if after = c.Snapshot(t); len(after.Processes) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := Added(before.Mounts, after.Mounts); len(d) > 0 {
		t.Errorf("mounts left on the host: %q", d)
	}
	if d := Added(before.StateFiles, after.StateFiles); len(d) > 0 {
		t.Errorf("crun state files left: %q", d)
	}
	if len(after.Processes) > 0 {
		t.Errorf("processes of crun or the plugin left: %q", after.Processes)
	}
}

// Added lists what after has more of than before.
func Added(before, after []string) []string {
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
