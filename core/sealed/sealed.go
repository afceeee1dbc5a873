// Package sealed runs crun from a copy of its own binary that cannot be
// written to, for the runs in which crun's code stays inside the
// container (its init as PID 1, pid.init=true).
//
// That init is a fork of crun: its /proc/PID/exe is crun's binary. A
// process in the container that may open it (root keeping
// CAP_SYS_PTRACE) could write through it to the host's crun once nothing
// runs the binary any more, as in CVE-2019-5736 against runc; a fork
// cannot change its exe (prctl(PR_SET_MM_EXE_FILE) refuses while the old
// binary is mapped). So crun re-executes itself, once, before it clones,
// from a binary the kernel will not let anyone write through:
//   - as root, the same file through a read-only bind mount of it that is
//     attached nowhere (open_tree, mount_setattr): nothing is copied, no
//     mount table shows it, and it goes away with the last process that
//     runs from it;
//   - otherwise (an ordinary user may not make mounts), a memfd copy
//     sealed against writes, growth and shrinking.
//
// The init's exe is then that binary, and a write through /proc/1/exe
// fails (EROFS, or EPERM on the seals).
package sealed

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fromEnv carries the path crun was started from across the re-exec
// (os.Executable of the new process names the mount's or memfd's file).
const fromEnv = "CRUN_SEALED_FROM"

// startedFrom is fromEnv's value, taken out of the environment at start
// so that no command inherits it.
var startedFrom = func() string {
	v := os.Getenv(fromEnv)
	os.Unsetenv(fromEnv)
	return v
}()

// seals are the seals of a memfd copy: no write, no size change, no new
// seal.
const seals = unix.F_SEAL_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK | unix.F_SEAL_SEAL

// Running tells whether this process runs from a binary nobody can write
// through its exe link: a sealed memfd, or a file on a read-only mount.
func Running() bool {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return false
	}
	defer f.Close()
	if got, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0); err == nil {
		return got&seals == seals
	}
	var st unix.Statfs_t
	return unix.Fstatfs(int(f.Fd()), &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// Executable is os.Executable, but the binary crun was started from when
// it was re-executed: crun finds its plugin host beside it, and names it
// in cache keys.
func Executable() (string, error) {
	if startedFrom != "" && Running() {
		return startedFrom, nil
	}
	return os.Executable()
}

// Reexec replaces the process with the same command run from a binary
// nobody can write to. It returns only on failure, having changed
// nothing.
func Reexec() error {
	self, err := Executable()
	if err != nil {
		return err
	}
	bin, err := Open()
	if err != nil {
		return err
	}
	defer bin.Close()
	// The kernel opens the path before it closes the close-on-exec fds.
	env := append(os.Environ(), fromEnv+"="+self)
	err = unix.Exec("/proc/self/fd/"+strconv.Itoa(int(bin.Fd())), os.Args, env)
	return fmt.Errorf("execute %s: %w", bin.Name(), err)
}

// Open returns crun's binary, open (close-on-exec), as nobody can write
// to it: through a read-only mount attached nowhere, or a sealed copy.
// Executed by fd, it is a program the container cannot replace.
func Open() (*os.File, error) {
	self, err := Executable()
	if err != nil {
		return nil, err
	}
	if bin, err := readOnlyView(self); err == nil {
		return bin, nil
	}
	return sealedCopy("/proc/self/exe")
}

// readOnlyView opens path through a read-only bind mount of the file
// alone that is attached to no mount namespace.
func readOnlyView(path string) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path+" (read-only)")
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		f.Close()
		return nil, fmt.Errorf("make the bind of %s read-only: %w", path, err)
	}
	return f, nil
}

// sealedCopy copies a file into a new memfd (close-on-exec) and seals it.
func sealedCopy(path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("crun", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "a sealed copy of "+path)
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("copy %s: %w", path, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return nil, fmt.Errorf("seal the copy: %w", err)
	}
	return dst, nil
}
