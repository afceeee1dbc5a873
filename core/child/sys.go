package child

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Sys is the seam between the steps and the kernel: the real one makes
// syscalls, a Recorder writes them down, so the order of steps can be
// unit-tested without root.
type Sys interface {
	Mount(source, target, fstype string, flags uintptr, data string) error
	PivotRoot(newRoot string) error
	Chroot(path string) error
	Chdir(path string) error
	Sethostname(name string) error
	MkdirAll(path string, mode os.FileMode) error
	Symlink(target, link string) error
	// Touch creates an empty file (a bind mount target for a file).
	Touch(path string) error
	// IsDir reports whether path is a directory, following symlinks.
	IsDir(path string) (bool, error)
	// CopyFile copies the content of source to a new target file.
	CopyFile(source, target string, mode os.FileMode) error
	// JoinCgroup moves the calling thread into a cgroup v1 cgroup.
	JoinCgroup(dir string) error
	// PinInRoot opens path inside root, resolved as if root were "/",
	// and returns a name for it that cannot be redirected any more (the
	// kernel resolves it in one go), and a function to let it go.
	PinInRoot(root, path string) (string, func(), error)
}

// Kernel is the real Sys.
type Kernel struct{}

func (Kernel) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}

// PivotRoot makes newRoot the root and detaches the old one, without
// needing a directory for the old root: pivot_root(".", ".") stacks the
// old root on top of the new one at "/", and unmounting "." then removes
// it, leaving nothing of the host reachable.
func (Kernel) PivotRoot(newRoot string) error {
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("chdir %s: %w", newRoot, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("pivot_root %s: %w (is it a mount point, and is / private?)", newRoot, err)
		}
		return fmt.Errorf("pivot_root %s: %w", newRoot, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return unix.Chdir("/")
}

func (Kernel) Chroot(path string) error {
	if err := unix.Chroot(path); err != nil {
		return err
	}
	return unix.Chdir("/")
}

func (Kernel) Chdir(path string) error       { return unix.Chdir(path) }
func (Kernel) Sethostname(name string) error { return unix.Sethostname([]byte(name)) }

func (Kernel) MkdirAll(path string, mode os.FileMode) error { return os.MkdirAll(path, mode) }

func (Kernel) Symlink(target, link string) error {
	err := os.Symlink(target, link)
	if errors.Is(err, os.ErrExist) {
		if old, rerr := os.Readlink(link); rerr == nil && old == target {
			return nil
		}
	}
	return err
}

func (Kernel) Touch(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func (Kernel) IsDir(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

func (Kernel) CopyFile(source, target string, mode os.FileMode) error {
	in, err := os.Open(source)
	if err != nil {
		return err
	}
	defer in.Close()
	// O_NOFOLLOW: the target was resolved inside the root; a link that
	// appeared there since must not redirect the copy.
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(mode); err != nil { // whatever the umask
		out.Close()
		return err
	}
	return out.Close()
}

// JoinCgroup writes "0" (the writing thread) to the cgroup's tasks file.
// crun's init runs locked to one thread, the one that executes the
// command.
func (Kernel) JoinCgroup(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "tasks"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte("0")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PinInRoot opens the target with openat2(RESOLVE_IN_ROOT) and names it
// /proc/self/fd/N: between ResolveInRoot and mount(2) a component could
// have been swapped for a symlink leading out of the root (with chroot
// and without mnt, onto the host); the open file cannot be swapped. On a
// kernel without openat2 (before 5.6) it falls back to the path.
func (Kernel) PinInRoot(root, path string) (string, func(), error) {
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	defer unix.Close(rootFD)
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return "", nil, err
	}
	fd, err := unix.Openat2(rootFD, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		return path, func() {}, nil
	}
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), func() { unix.Close(fd) }, nil
}

// Recorder is a Sys that records calls instead of making them. Fail, when
// set, makes the call whose record it returns true for fail with that
// error.
type Recorder struct {
	Calls []string
	Fail  func(call string) error
}

func (r *Recorder) record(format string, args ...any) error {
	call := fmt.Sprintf(format, args...)
	r.Calls = append(r.Calls, call)
	if r.Fail != nil {
		return r.Fail(call)
	}
	return nil
}

func (r *Recorder) Mount(source, target, fstype string, flags uintptr, data string) error {
	return r.record("mount %q %q %q %s %q", source, target, fstype, FlagNames(flags), data)
}
func (r *Recorder) PivotRoot(newRoot string) error { return r.record("pivot_root %q", newRoot) }
func (r *Recorder) Chroot(path string) error       { return r.record("chroot %q", path) }
func (r *Recorder) Chdir(path string) error        { return r.record("chdir %q", path) }
func (r *Recorder) Sethostname(name string) error  { return r.record("sethostname %q", name) }
func (r *Recorder) MkdirAll(path string, mode os.FileMode) error {
	return r.record("mkdir %q %04o", path, mode)
}
func (r *Recorder) Symlink(target, link string) error {
	return r.record("symlink %q %q", target, link)
}
func (r *Recorder) Touch(path string) error     { return r.record("touch %q", path) }
func (r *Recorder) JoinCgroup(dir string) error { return r.record("join_cgroup %q", dir) }

// PinInRoot returns the resolved path as it is.
func (r *Recorder) PinInRoot(root, path string) (string, func(), error) { return path, func() {}, nil }
func (r *Recorder) CopyFile(source, target string, mode os.FileMode) error {
	return r.record("copy %q %q %04o", source, target, mode)
}

// IsDir says a path is a directory unless it is under /dev (so recorded
// plans can bind device nodes).
func (r *Recorder) IsDir(path string) (bool, error) {
	return !strings.HasPrefix(path, "/dev/"), nil
}
