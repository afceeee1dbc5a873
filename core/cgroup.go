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
// kernel has it, which is atomic even against a fork bomb; otherwise by
// SIGKILL to each pid listed, again and again, until the listed pids are
// gone (a fork bomb under a pids limit runs out of forks quickly).
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
	for i := 0; i < 500; i++ {
		pids, err := cgroupPids(dir)
		if err != nil {
			return err
		}
		alive := 0
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err == nil {
				alive++
			}
		}
		if alive == 0 {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("kill the processes in %s: some keep coming back", dir)
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
	return fmt.Errorf("processes stay in %s after cgroup.kill", dir)
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
