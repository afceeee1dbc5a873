package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/sdktest"
	"github.com/crun-project/crun/sdk/spec"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, Net{},
		sdktest.Case{Name: "with others", Plugins: []string{"uts", "pid", "mnt"}},
	)
}

func TestContribute(t *testing.T) {
	c, err := Net{}.Contribute(sdktest.Context(t), spec.ContributeRequest{Plugins: []string{"net"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Namespaces, []spec.Namespace{spec.NamespaceNet}) {
		t.Errorf("namespaces %v, want net", c.Namespaces)
	}
	if len(c.HostSteps) != 1 || c.HostSteps[0].Point != spec.HookAfterClone || c.HostSteps[0].Hook == nil ||
		c.HostSteps[0].Hook.Name != "loopback-up" {
		t.Errorf("host steps %+v, want the loopback-up hook at after-clone", c.HostSteps)
	}
	if len(c.Steps) != 0 {
		t.Errorf("steps %+v, want none: lo is brought up from the host", c.Steps)
	}
}

// TestHookRefusesWhatItDoesNotKnow calls the hook over gRPC, as crun
// does, with requests crun should never send.
func TestHookRefusesWhatItDoesNotKnow(t *testing.T) {
	ctx := sdktest.Context(t)
	remote := sdktest.Serve(t, Net{})
	for _, req := range []spec.HookRequest{
		{Point: spec.HookAfterClone, Name: "other", Pid: os.Getpid()},
		{Point: spec.HookAfterExit, Name: "loopback-up", Pid: os.Getpid()},
		{Point: spec.HookAfterClone, Name: "loopback-up"},
	} {
		if err := remote.Hook(ctx, "net", req); err == nil {
			t.Errorf("hook %+v succeeded, want an error", req)
		}
	}
}

// probeEnv makes the test binary a probe, run inside a network namespace
// (by crun as the container's command, or by TestHookBringsLoopbackUp):
// it reports what it sees, and with "wait" waits for a line on stdin and
// reports again. init runs before TestMain, so a probe builds nothing.
const probeEnv = "CRUN_NET_EXAMPLE_PROBE"

func init() {
	switch os.Getenv(probeEnv) {
	case "":
		return
	case "wait":
		probe()
		bufio.NewReader(os.Stdin).ReadString('\n')
		probe()
	default:
		probe()
	}
	os.Exit(0)
}

// probe prints three lines: lo's state, the interfaces, and whether a UDP
// datagram to 127.0.0.1 comes back.
func probe() {
	state := "down"
	if up, err := loUp(); err != nil {
		state = err.Error()
	} else if up {
		state = "up"
	}
	fmt.Println("lo:", state)
	var names []string
	ifs, err := net.Interfaces()
	if err != nil {
		names = []string{err.Error()}
	}
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	sort.Strings(names)
	fmt.Println("interfaces:", strings.Join(names, ","))
	fmt.Println("udp:", udpLoopback())
}

// loUp reads lo's flags in the caller's own namespace, without setns.
func loUp() (bool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return false, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return false, err
	}
	return ifr.Uint16()&unix.IFF_UP != 0, nil
}

func udpLoopback() string {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.WriteTo([]byte("ping"), c.LocalAddr()); err != nil {
		return err.Error()
	}
	buf := make([]byte, 16)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		return err.Error()
	}
	if string(buf[:n]) != "ping" {
		return fmt.Sprintf("got %q back", buf[:n])
	}
	return "ok"
}

// threadNamespaces lists the network namespaces of this process's
// threads.
func threadNamespaces(t *testing.T) []string {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	var out []string
	for _, task := range tasks {
		if ns, err := os.Readlink(task); err == nil && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// TestHookBringsLoopbackUp runs the hook over gRPC, as crun does, on a
// process in a new network namespace: lo is down before, up after, and
// every thread of the process that ran the hook is back home.
func TestHookBringsLoopbackUp(t *testing.T) {
	requireRoot(t)
	home, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), probeEnv+"=wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
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
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(out)
	read := func() []string {
		var got []string
		for len(got) < 3 && lines.Scan() {
			got = append(got, lines.Text())
		}
		return got
	}
	if got := read(); len(got) != 3 || got[0] != "lo: down" || got[1] != "interfaces: lo" || got[2] == "udp: ok" {
		t.Fatalf("before the hook the probe saw %q, want lo down and alone, and no loopback", got)
	}

	err = sdktest.Serve(t, Net{}).Hook(sdktest.Context(t), "net", spec.HookRequest{
		Point: spec.HookAfterClone, Name: "loopback-up", ContainerID: "test", Pid: cmd.Process.Pid,
	})
	if err != nil {
		t.Fatalf("hook: %v", err)
	}
	fmt.Fprintln(stdin)
	if got := read(); !slices.Equal(got, []string{"lo: up", "interfaces: lo", "udp: ok"}) {
		t.Errorf("after the hook the probe saw %q, want lo up and alone, and loopback working", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("probe: %v", err)
	}
	if got := threadNamespaces(t); !slices.Equal(got, []string{home}) {
		t.Errorf("the threads of the process that ran the hook are in network namespaces %v, want only %s", got, home)
	}
}
