package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// pluginName is the plugin the harness builds and installs.
const pluginName = "net"

// netDevInterfaces reads the interface names in /proc/net/dev (two
// header lines, then NAME: counters).
func netDevInterfaces(s string) []string {
	var names []string
	for _, line := range strings.Split(s, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

// TestOnlyLoopback: /proc/net/dev shows the reader's network namespace.
// Without the plugin the container lists the host's interfaces; with it,
// only lo.
func TestOnlyLoopback(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "net", "run", "cat", "/proc/net/dev")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := netDevInterfaces(r.Stdout); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("with the net plugin the container sees interfaces %q, want only lo:\n%s", got, r.Stdout)
	}

	host, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	r = crun(t, "run", "cat", "/proc/net/dev")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got, want := netDevInterfaces(r.Stdout), netDevInterfaces(string(host)); !slices.Equal(got, want) {
		t.Errorf("without the net plugin the container should see the host's interfaces %q, saw %q", want, got)
	}
	nothingLeft(t, before)
}

// TestLoopbackUp: the hook ran before the command; the probe (this test
// binary, run as the container's command) finds lo up and working.
func TestLoopbackUp(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t)
	r := crun(t, "--plugins", "net", "--env", probeEnv+"=report", "run", self)
	if want := "lo: up\ninterfaces: lo\nudp: ok\n"; r.Code != 0 || r.Stdout != want {
		t.Errorf("exit %d, the probe saw %q, want %q; stderr: %s", r.Code, r.Stdout, want, r.Stderr)
	}
	nothingLeft(t, before)
}

// TestIPShowsLoUp asks the host's iproute2, inside the container.
func TestIPShowsLoUp(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command (apt-get install iproute2); TestLoopbackUp checks the same without it")
	}
	before := snapshot(t)
	r := crun(t, "--plugins", "net", "run", "ip", "-o", "link", "show", "lo")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	// 1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 ...
	if !regexp.MustCompile(`^1: lo: <[A-Z_,]*\bUP\b`).MatchString(r.Stdout) {
		t.Errorf("lo is not UP in the container: %q", r.Stdout)
	}
	nothingLeft(t, before)
}

func TestPingLoopback(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("no ping command (apt-get install iputils-ping); TestLoopbackUp checks the loopback without it")
	}
	before := snapshot(t)
	r := crun(t, "--plugins", "net", "run", "ping", "-c1", "-W1", "127.0.0.1")
	if r.Code != 0 {
		t.Errorf("ping 127.0.0.1 in the container: exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
	}
	nothingLeft(t, before)
}

// TestPluginLivesWithTheContainer: crun keeps a plugin with a live hook
// running while the container runs (pure planners are stopped once the
// plan is made), and stops it when the container ends.
func TestPluginLivesWithTheContainer(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := crunCommand(ctx, "--plugins", "net", "run", "sh", "-c", "echo ready; cat >/dev/null")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the container printed %q (%v), want ready", line, err)
	}
	plugin := filepath.Join(pluginDir, "crun-plugin-net")
	if !slices.ContainsFunc(snapshot(t).Processes, func(p string) bool { return strings.HasSuffix(p, " "+plugin) }) {
		t.Errorf("no %s process while the container runs: who would run its hooks?", plugin)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("crun: %v", err)
	}
	nothingLeft(t, before)
}
