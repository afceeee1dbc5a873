package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// pluginName is the plugin the harness builds and installs.
const pluginName = "ipc"

// shmIDs lists the System V shared memory segments of the caller's IPC
// namespace, by id, as ipcs -m shows them.
func shmIDs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			ids = append(ids, f[1])
		}
	}
	return ids
}

// ipcsIDs reads the ids in the output of ipcs -m: after a header, lines of
// key, shmid, owner, perms, bytes, nattch, status.
func ipcsIDs(out string) []string {
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.HasPrefix(f[0], "0x") {
			ids = append(ids, f[1])
		}
	}
	return ids
}

// TestHostSegmentInvisible is the lesson: a segment the host made is
// listed inside a container without the ipc plugin, and not with it.
func TestHostSegmentInvisible(t *testing.T) {
	requireRoot(t)
	shmBefore := shmIDs(t)
	before := snapshot(t)

	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatalf("create a System V shared memory segment: %v", err)
	}
	removed := false
	remove := func() {
		if !removed {
			removed = true
			if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
				t.Errorf("remove shared memory segment %d: %v", id, err)
			}
		}
	}
	t.Cleanup(remove)
	sid := strconv.Itoa(id)
	if !slices.Contains(shmIDs(t), sid) {
		t.Fatalf("segment %d is not in the host's /proc/sysvipc/shm", id)
	}

	r := crun(t, "--plugins", "ipc", "run", "ipcs", "-m")
	if r.Code != 0 {
		t.Fatalf("crun --plugins ipc run ipcs -m: exit %d: %s", r.Code, r.Stderr)
	}
	if slices.Contains(ipcsIDs(r.Stdout), sid) {
		t.Errorf("with the ipc plugin the container lists the host's segment %d:\n%s", id, r.Stdout)
	}

	r = crun(t, "run", "ipcs", "-m")
	if r.Code != 0 {
		t.Fatalf("crun run ipcs -m: exit %d: %s", r.Code, r.Stderr)
	}
	if !slices.Contains(ipcsIDs(r.Stdout), sid) {
		t.Errorf("without the ipc plugin the container should list the host's segment %d (it shares the host's IPC namespace):\n%s", id, r.Stdout)
	}

	remove()
	nothingLeft(t, before)
	if after := shmIDs(t); !slices.Equal(after, shmBefore) {
		t.Errorf("the host's shared memory segments were %v before the test, %v after", shmBefore, after)
	}
}

// TestContainerSegmentDiesWithIt: what the container makes in its own IPC
// namespace is freed with the namespace, not left on the host.
func TestContainerSegmentDiesWithIt(t *testing.T) {
	requireRoot(t)
	shmBefore := shmIDs(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "ipc", "run", "sh", "-c", "ipcmk -M 4096 && ipcs -m")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if len(ipcsIDs(r.Stdout)) != 1 {
		t.Errorf("want the container's own segment alone in its ipcs -m:\n%s", r.Stdout)
	}
	nothingLeft(t, before)
	if after := shmIDs(t); !slices.Equal(after, shmBefore) {
		t.Errorf("the container's segment was left on the host: segments %v before, %v after", shmBefore, after)
	}
}

func TestWarnsAboutDevShm(t *testing.T) {
	requireRoot(t)
	before := snapshot(t)
	r := crun(t, "--plugins", "ipc", "run", "true")
	if r.Code != 0 || !strings.Contains(r.Stderr, "crun: warning: ipc: POSIX shared memory") {
		t.Errorf("exit %d, stderr %q: want 0 and the warning about /dev/shm", r.Code, r.Stderr)
	}
	nothingLeft(t, before)
}
