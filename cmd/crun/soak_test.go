package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSoak kills crun at random moments, many times over, then runs
// crun cleanup and counts what is left: mounts, cgroups, processes,
// runtime directories and state files, which must all be none. Each run
// is one of: cached or not, with mnt or without (mounts on the host),
// with a third-party plugin (one with an after-exit hook), with a cgroup; a random SIGKILL, SIGTERM or
// SIGINT comes 0-30 ms after it starts, 20 runs at a time.
//
// CRUN_SOAK_RUNS sets how many (make soak: 2,000); by default 200, which
// CI runs. A SIGTERM or SIGINT must end crun with 128+N (or the
// command's status, when it ended first), never kill it by the signal:
// only the Go runtime's start-up, before main, may; the count is printed.
func TestSoak(t *testing.T) {
	requireRoot(t)
	runs := 200
	if s := os.Getenv("CRUN_SOAK_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CRUN_SOAK_RUNS=%q: want a number of runs", s)
		}
		runs = n
	}
	rootfs := testRootfs(t)
	before := snapshot(t)
	kinds := [][]string{
		{"--plugins", "uts,pid,mnt,chroot", "--rootfs", rootfs},
		{"--plugins", "uts,pid,mnt,chroot", "--rootfs", rootfs, "--no-cache"},
		{"--plugins", "chroot", "--rootfs", rootfs},                                                // mounts on the host
		{"--plugins", "uts,chroot", "--rootfs", rootfs, "--tmpfs", "/tmp"},                         // and a tmpfs
		{"--plugins", "uts,pid,mnt,chroot,cgroup", "--rootfs", rootfs, "-o", "cgroup.pids-max=64"}, // a cgroup
		{"--plugins", "uts,pid,mnt,chroot,tmpfs", "--rootfs", rootfs, "-o", "tmpfs.path=/mnt/t"},   // third-party
		{"--plugins", "uts,pid,mnt,chroot,tmpfs", "--rootfs", rootfs, "-o", "tmpfs.path=/mnt/t", "--no-cache"},
	}
	// A plugin with an after-exit hook, which crun cleanup replays.
	hookLog := t.TempDir() + "/hook.log"
	kinds = append(kinds, []string{"--plugins", "uts,exithook", "-o", "exithook.file=" + hookLog})
	signals := []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT}
	type outcome struct {
		kind    int
		sig     syscall.Signal
		code    int // exit code, or -1
		stderr  string
		died    bool // by the signal sent
		hung    bool
		elapsed time.Duration
	}
	results := make(chan outcome, runs)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				kind := rand.IntN(len(kinds))
				sig := signals[rand.IntN(len(signals))]
				args := append([]string{"--name", fmt.Sprintf("soak-%d", i)}, kinds[kind]...)
				args = append(args, "run", "sh", "-c", "sleep 0.0$((RANDOM % 5))")
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				cmd := crunCmd(ctx, args...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				start := time.Now()
				if err := cmd.Start(); err != nil {
					cancel()
					t.Error(err)
					continue
				}
				time.Sleep(time.Duration(rand.IntN(30_000)) * time.Microsecond)
				cmd.Process.Signal(sig)
				err := cmd.Wait()
				o := outcome{kind: kind, sig: sig, code: cmd.ProcessState.ExitCode(), elapsed: time.Since(start), hung: ctx.Err() != nil, stderr: stderr.String()}
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
						o.died = ws.Signal() == sig
					}
				}
				cancel()
				results <- o
			}
		}()
	}
	for i := 0; i < runs; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(results)

	var killed, byCode, early, hung int
	codes := map[int]int{}
	for o := range results {
		switch {
		case o.hung:
			hung++
		case o.sig == syscall.SIGKILL:
			killed++
		case o.died:
			early++ // before main: the Go runtime's start-up
		default:
			byCode++
			codes[o.code]++
			switch o.code {
			case 0, 128 + int(o.sig):
			case 125:
				// crun failed and said why: what the soak checks is
				// that it cleaned up, but the reason is printed.
				t.Logf("kind %d, %v: exit 125: %s", o.kind, o.sig, lastLine(o.stderr))
			default:
				t.Errorf("kind %d, %v: exit %d, want 0 or %d: %s", o.kind, o.sig, o.code, 128+int(o.sig), o.stderr)
			}
		}
	}
	if hung > 0 {
		t.Errorf("%d runs still ran after 30 s", hung)
	}
	r := crun(t, "cleanup")
	if r.code != 0 {
		t.Errorf("crun cleanup: exit %d: %s", r.code, r.stderr)
	}
	// Containers killed with their crun die through the parent-death
	// signal: give the kernel a moment to reap them.
	after := snapshot(t)
	for i := 0; i < 100 && len(after.processes) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
		after = snapshot(t)
	}
	left := map[string]string{
		"mounts":              diff(before.mounts, after.mounts),
		"cgroups":             added(before.cgroups, after.cgroups),
		"processes":           strings.Join(after.processes, "\n"),
		"runtime directories": added(before.runtimeDirs, after.runtimeDirs),
		"state files":         added(before.stateFiles, after.stateFiles),
	}
	summary := fmt.Sprintf("soak: %d runs (20 at a time): %d SIGKILLed, %d ended by SIGTERM/SIGINT with a code %v, %d killed by it before main",
		runs, killed, byCode, codes, early)
	for _, what := range []string{"mounts", "cgroups", "processes", "runtime directories", "state files"} {
		n := 0
		if left[what] != "" {
			n = strings.Count(left[what], "\n") + 1
		}
		summary += fmt.Sprintf("; %s left: %d", what, n)
		if n > 0 {
			t.Errorf("%s left after crun cleanup:\n%s", what, left[what])
		}
	}
	t.Log(summary)
	fmt.Println(summary)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
