package core

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireCgroupRoot skips a test that needs root, or fails it under CI.
func requireCgroupRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root, and CI is set: run the tests as root")
	}
	t.Skip("needs root (makes cgroups): run the tests as root to include it")
}

// TestKillCgroup kills a cgroup holding a process that keeps forking and
// some its parent left behind, on each hierarchy the host has: every one
// of them dies, the cgroup ends empty and can be removed, and a process
// outside it lives on.
func TestKillCgroup(t *testing.T) {
	requireCgroupRoot(t)
	cases := []struct {
		name, root string
		kill       func(string) error
	}{
		{"v1 pids", "/sys/fs/cgroup/pids", killCgroup},
		// Hybrid hosts have v2 at unified, v2 hosts at the top.
		{"v2 cgroup.kill", v2Root(), killCgroup},
		{"v2 pidfds", v2Root(), killEachListed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var st unix.Statfs_t
			if c.root == "" || unix.Statfs(c.root, &st) != nil ||
				(st.Type != unix.CGROUP_SUPER_MAGIC && st.Type != unix.CGROUP2_SUPER_MAGIC) {
				t.Skipf("no such cgroup hierarchy here (%q)", c.root)
			}
			testKillCgroup(t, c.root, c.kill)
		})
	}
}

func v2Root() string {
	for _, d := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return d
		}
	}
	return ""
}

func testKillCgroup(t *testing.T, root string, kill func(string) error) {
	name := fmt.Sprintf("crun-test-kill-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("make the test's cgroup: %v", err)
	}
	// Whatever happens, nothing the test started is left running and the
	// cgroup goes. Cleanups run last-registered first: this one runs
	// after the processes' own.
	t.Cleanup(func() {
		if err := emptyTestCgroup(dir, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := removeTestCgroup(dir); err != nil {
			t.Errorf("cleanup: %v: remove it by hand (rmdir %s)", err, dir)
		}
	})
	// A bug here must not turn into a fork bomb (where the hierarchy has
	// the pids controller).
	if limit := filepath.Join(dir, "pids.max"); fileExists(limit) {
		if err := os.WriteFile(limit, []byte("64"), 0o644); err != nil {
			t.Fatalf("limit the test's cgroup: %v", err)
		}
	}

	// The shell joins the cgroup before it forks anything, then leaves
	// two sleeps behind, a subshell forking without pause, and becomes a
	// sleep itself.
	inside := startProcess(t, "sh", "-c", `echo $$ > "$0/cgroup.procs" || exit 1
		sleep 1000 &
		sleep 1000 &
		(while :; do sleep 0.001; done) &
		exec sleep 1000`, dir)
	outside := startProcess(t, "sleep", "1000")

	pinned := waitForMembers(t, dir, name, 4)
	if err := kill(dir); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if pids, err := cgroupPids(dir); err != nil || len(pids) != 0 {
		t.Errorf("after the kill, cgroup.procs lists %v (%v), want nothing", pids, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pid, fd := range pinned {
		if !pidfdExited(fd, time.Until(deadline)) {
			t.Errorf("pid %d, which was in the cgroup, is still running", pid)
		}
	}
	// Waited for only once it has exited: a failed kill must fail the
	// test, not hang it.
	if fd, ok := pinned[inside.Process.Pid]; !ok {
		t.Errorf("the shell (pid %d) was not seen in the cgroup", inside.Process.Pid)
	} else if pidfdExited(fd, 0) {
		err := inside.Wait()
		if ws, ok := inside.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("the process in the cgroup ended with %v, want killed by SIGKILL", err)
		}
	}
	if fd, err := unix.PidfdOpen(outside.Process.Pid, 0); err != nil {
		t.Errorf("pidfd of the process outside: %v", err)
	} else {
		defer unix.Close(fd)
		if pidfdExited(fd, 0) {
			t.Errorf("the process outside the cgroup (pid %d) was killed too", outside.Process.Pid)
		}
	}
	if err := removeTestCgroup(dir); err != nil {
		t.Errorf("the killed cgroup: %v", err)
	}
}

// startProcess starts a command, and kills it at the end of the test.
func startProcess(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // through a pidfd: safe even if already reaped
			cmd.Wait()
		}
	})
	return cmd
}

// waitForMembers waits until the cgroup holds at least n processes, then
// pins each with a pidfd (checked to be in the cgroup after opening it, so
// it cannot be an unrelated process that got a listed pid) and returns
// them. The pidfds are closed at the end of the test.
func waitForMembers(t *testing.T, dir, name string, n int) map[int]int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := cgroupPids(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) >= n {
			pinned := map[int]int{}
			t.Cleanup(func() {
				for _, fd := range pinned {
					unix.Close(fd)
				}
			})
			for _, pid := range pids {
				fd, err := unix.PidfdOpen(pid, 0)
				if err != nil {
					continue // one of the short-lived sleeps, gone
				}
				if inTestCgroup(pid, name) {
					pinned[pid] = fd
				} else {
					unix.Close(fd)
				}
			}
			if len(pinned) >= n-1 { // all but perhaps a short-lived sleep
				return pinned
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cgroup holds %v after 5s, want at least %d processes", pids, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inTestCgroup says whether /proc/PID/cgroup puts the process in a cgroup
// called name, right under a hierarchy's root.
func inTestCgroup(pid int, name string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(line, ":/"+name) {
			return true
		}
	}
	return false
}

// pidfdExited says whether the process a pidfd stands for has exited, waiting
// at most timeout for it: a pidfd polls readable once it has.
func pidfdExited(pidfd int, timeout time.Duration) bool {
	timeout = max(timeout, 0) // poll waits for ever on a negative one
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		return err == nil && n == 1
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// emptyTestCgroup kills what is left in the test's cgroup, without the
// code under test: a cleanup that works even when that code does not.
func emptyTestCgroup(dir, name string) error {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		pids, err := cgroupPids(dir)
		if err != nil || len(pids) == 0 {
			return err
		}
		for _, pid := range pids {
			if fd, err := unix.PidfdOpen(pid, 0); err == nil {
				if inTestCgroup(pid, name) {
					unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
				}
				unix.Close(fd)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	pids, _ := cgroupPids(dir)
	return fmt.Errorf("processes %v stay in %s: kill them by hand", pids, dir)
}

// removeTestCgroup removes a cgroup directory, giving the killed a moment to
// leave it (rmdir fails with EBUSY while a process is in it).
func removeTestCgroup(dir string) error {
	var err error
	for i := 0; i < 100; i++ {
		if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// TestKillStillListedSparesWhatLeft is the guard against a reused pid,
// without root: a pid read from cgroup.procs that is no longer listed when
// the list is read again (its process left, and the pid may now be
// another's) gets no signal; one still listed does. The "cgroup" is a
// plain directory with a cgroup.procs file the test writes.
func TestKillStillListedSparesWhatLeft(t *testing.T) {
	dir := t.TempDir()
	procs := filepath.Join(dir, "cgroup.procs")
	other := startProcess(t, "sleep", "1000")
	pid := other.Process.Pid
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Skipf("no pidfds here: %v", err)
	}
	defer unix.Close(fd)

	if err := os.WriteFile(procs, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := killStillListed(dir, []int{pid}); err != nil {
		t.Fatal(err)
	}
	if pidfdExited(fd, 100*time.Millisecond) {
		t.Fatalf("pid %d, listed at first but not on the second read, was killed", pid)
	}

	if err := os.WriteFile(procs, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := killStillListed(dir, []int{pid}); err != nil {
		t.Fatal(err)
	}
	if !pidfdExited(fd, 5*time.Second) {
		t.Fatalf("pid %d, listed on both reads, is still running", pid)
	}
}
