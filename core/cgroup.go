package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// killCgroup kills every process in a cgroup: with cgroup.kill where the
// kernel has it (cgroup v2, Linux 5.14+), which is atomic even against a
// fork bomb; otherwise by SIGKILL to each process cgroup.procs lists,
// again and again until it lists none (a fork bomb under a pids limit
// runs out of forks quickly). A missing cgroup is not an error.
func killCgroup(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return err
	}
	if st.Type != unix.CGROUP_SUPER_MAGIC && st.Type != unix.CGROUP2_SUPER_MAGIC {
		// Sending SIGKILL to the pids a file lists is for cgroups only.
		return fmt.Errorf("%s is not a cgroup", dir)
	}
	if f, err := os.OpenFile(filepath.Join(dir, "cgroup.kill"), os.O_WRONLY, 0); err == nil {
		_, werr := f.Write([]byte("1"))
		f.Close()
		if werr == nil {
			return waitEmpty(dir)
		}
	}
	return killEachListed(dir)
}

// killEachListed is killCgroup without cgroup.kill (cgroup v1, or v2
// before Linux 5.14): round after round, SIGKILL to what cgroup.procs
// lists, until it lists nothing.
func killEachListed(dir string) error {
	const rounds = 500
	var left []int
	for i := 0; i < rounds; i++ {
		var err error
		if left, err = cgroupPids(dir); err != nil || len(left) == 0 {
			return err
		}
		if err := killStillListed(dir, left); err != nil {
			return err
		}
		// Give the killed time to exit, and catch what they forked
		// after the list was read.
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("kill the processes in %s: %d still there after %d rounds of SIGKILL (pids %s): "+
		"a process stuck in the kernel (state D in /proc/PID/stat) or forking faster than it is killed; "+
		"kill them and remove the cgroup by hand", dir, len(left), rounds, pidList(left))
}

// killStillListed sends SIGKILL to the processes of the cgroup dir among
// those it listed a moment ago. A pid is only a number: a listed process
// may exit, be reaped, and its pid go to a process outside the cgroup
// before the signal leaves. So each is first pinned by a pidfd, which
// stands for that one process for good, and then the list is read again:
// a pinned process whose pid is still listed is the one listed, since two
// live processes never share a pid (had it exited in between, the signal
// goes nowhere). Only those are signalled, through their pidfds.
func killStillListed(dir string, listed []int) error {
	pinned := make(map[int]int, len(listed)) // pid -> pidfd
	defer func() {
		for _, fd := range pinned {
			unix.Close(fd)
		}
	}()
open:
	for _, pid := range listed {
		if _, ok := pinned[pid]; ok {
			continue // cgroup v1 may list a pid twice
		}
		fd, err := unix.PidfdOpen(pid, 0)
		switch {
		case err == nil:
			pinned[pid] = fd
		case errors.Is(err, unix.ESRCH), errors.Is(err, unix.EINVAL):
			// Gone; or the pid now names a thread, which no process
			// cgroup.procs lists can be.
		case (errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)) && len(pinned) > 0:
			break open // the rest wait for the next round
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			// No pidfds: before Linux 5.3, or under a seccomp filter
			// that refuses pidfd_open (as container engines' older
			// default ones do). A pid is all there is then, and a pid
			// reused at this very moment may get the signal; leaving
			// the container's processes running would be worse.
			return killPids(dir, listed)
		default:
			return fmt.Errorf("kill the processes in %s: pidfd_open %d: %w", dir, pid, err)
		}
	}
	still, err := cgroupPids(dir)
	if err != nil {
		return err
	}
	for _, pid := range still {
		fd, ok := pinned[pid]
		if !ok {
			continue // forked since the first read: the next round's
		}
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill pid %d in %s: %w", pid, dir, err)
		}
	}
	return nil
}

// killPids is killStillListed for kernels without pidfds.
func killPids(dir string, listed []int) error {
	for _, pid := range listed {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill pid %d in %s: %w", pid, dir, err)
		}
	}
	return nil
}

func pidList(pids []int) string {
	const most = 10
	s := make([]string, 0, most+1)
	for i, pid := range pids {
		if i == most {
			s = append(s, "...")
			break
		}
		s = append(s, strconv.Itoa(pid))
	}
	return strings.Join(s, " ")
}

// waitEmpty waits briefly for killed processes to leave the cgroup.
func waitEmpty(dir string) error {
	for i := 0; i < 500; i++ {
		pids, err := cgroupPids(dir)
		if err != nil || len(pids) == 0 {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	pids, _ := cgroupPids(dir)
	return fmt.Errorf("processes stay in %s after cgroup.kill (pids %s): "+
		"a process stuck in the kernel (state D in /proc/PID/stat); "+
		"kill them and remove the cgroup by hand", dir, pidList(pids))
}

func cgroupPids(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// report shows a value read from a file; see spec.Report.
func report(out io.Writer, plugin string, r *spec.Report) error {
	b, err := os.ReadFile(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the kernel does not offer it here
	}
	if err != nil {
		return err
	}
	value := strings.TrimSpace(string(b))
	if r.Key != "" {
		value = ""
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && k == r.Key {
				value = strings.TrimSpace(v)
			}
		}
		if value == "" {
			return nil
		}
	}
	n, numErr := strconv.ParseInt(value, 10, 64)
	if r.NonZero && (numErr != nil || n == 0) {
		return nil
	}
	if numErr == nil {
		value = formatUnit(n, r.Unit)
	}
	fmt.Fprintf(out, "crun: %s: %s: %s\n", plugin, r.Label, value)
	return nil
}

func formatUnit(n int64, unit string) string {
	switch unit {
	case "bytes":
		const k = 1024
		switch {
		case n >= k*k*k:
			return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
		case n >= k*k:
			return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
		case n >= k:
			return fmt.Sprintf("%.1f KiB", float64(n)/k)
		}
		return fmt.Sprintf("%d bytes", n)
	case "ns":
		return fmt.Sprintf("%.3fs", float64(n)/1e9)
	case "us":
		return fmt.Sprintf("%.3fs", float64(n)/1e6)
	}
	return strconv.FormatInt(n, 10)
}
