package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// HostMount is a mount the child makes in the host's mount namespace (when
// there is no mount namespace, the child's mounts are the host's: the
// talk's lesson). crun records it before the child mounts, with how many
// mounts were stacked on the path then; once it is made, the child tells
// crun its mount id. Undoing it removes exactly that mount: two
// containers without mount namespaces on one rootfs stack their /proc
// and /dev on the same paths, and unmounting "what is on top of the
// path" took the other container's.
type HostMount struct {
	Path HostPath `json:"path"`
	// Below is the number of mounts on Path before this one: what is
	// undone when the id never came (crun was killed in between, or the
	// kernel is older than 5.8).
	Below int `json:"below"`
	// ID is the mount's id: the kernel's 64-bit unique one when UniqueID
	// (Linux 6.8), never reused; else mountinfo's, which a later mount
	// may reuse once this one is gone, so it counts only on Path.
	ID       uint64 `json:"id,omitempty"`
	UniqueID bool   `json:"unique_id,omitempty"`
}

// errCovered says a container's mount is under another mount made since
// (unmounting it would take the other one, its submount, with it), or a
// mount point it made is in another running container's root (which may
// have a mount there): it stays recorded until the other one is gone.
var errCovered = errors.New("in use by another container")

// undoMounts unmounts the recorded mounts, newest first, and returns those
// it had to leave because another mount covers them (errCovered: they
// stay recorded, for the next cleanup).
func undoMounts(mounts []HostMount) (covered []HostMount, err error) {
	var errs []error
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		var err error
		if m.ID == 0 {
			err = undoCounted(m)
		} else {
			err = undoByID(m)
		}
		switch {
		case errors.Is(err, errCovered):
			covered = append([]HostMount{m}, covered...)
		case err != nil:
			errs = append(errs, err)
		}
	}
	return covered, errors.Join(errs...)
}

// undoCounted unmounts whatever is stacked on the path above the count
// found before the mount: the fallback when its id is unknown.
func undoCounted(m HostMount) error {
	path := string(m.Path)
	for n := mountsAt(path); n > m.Below; n-- {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", path, err)
			}
			break
		}
	}
	return nil
}

// undoByID unmounts the mount with m's id when it is the one on top of
// its path: it is opened (O_PATH, which lands on the top mount), its id
// checked, and the unmount made through the descriptor, so that a mount
// stacked meanwhile is not the one that goes. A mount that is no longer
// there is done with; one under another is errCovered.
func undoByID(m HostMount) error {
	path := string(m.Path)
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		defer unix.Close(fd)
		if id, unique, ok := mountID(fd); ok && id == m.ID && unique == m.UniqueID {
			if err := unix.Unmount("/proc/self/fd/"+strconv.Itoa(fd), unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", path, err)
			}
			return nil
		}
	} else if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("open %s to unmount it: %w", path, err)
	}
	if mounted(m) {
		return fmt.Errorf("%s: %w", path, errCovered)
	}
	return nil
}

// mountID reads the id of the mount fd is on, as the child read it when
// it made the mount (unique when the kernel has such ids).
func mountID(fd int) (id uint64, unique bool, ok bool) {
	var stx unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID_UNIQUE, &stx) != nil {
		return 0, false, false
	}
	switch {
	case stx.Mask&unix.STATX_MNT_ID_UNIQUE != 0:
		return stx.Mnt_id, true, true
	case stx.Mask&unix.STATX_MNT_ID != 0:
		return stx.Mnt_id, false, true
	}
	return 0, false, false
}

// mounted tells whether m's mount still exists in crun's mount namespace:
// statmount(2) for a unique id; for a mountinfo id, a mountinfo line with
// that id on m's path.
func mounted(m HostMount) bool {
	if m.UniqueID {
		// struct mnt_id_req (version 0) and a buffer for struct
		// statmount's fixed part: only whether the kernel finds the id
		// matters.
		req := struct {
			size, spare  uint32
			mntID, param uint64
		}{size: 24, mntID: m.ID, param: statmountSBBasic}
		var buf [512]byte
		_, _, errno := unix.Syscall6(unix.SYS_STATMOUNT, uintptr(unsafe.Pointer(&req)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		return errno != unix.ENOENT
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true // cannot tell: keep it recorded
	}
	id := strconv.FormatUint(m.ID, 10)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[0] == id && unescapeMountPath(f[4]) == string(m.Path) {
			return true
		}
	}
	return false
}

// statmountSBBasic is STATMOUNT_SB_BASIC: the least statmount can be asked.
const statmountSBBasic = 0x1

// mountsAt counts the mounts on path in crun's mount namespace.
func mountsAt(path string) int {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountPath(f[4]) == path {
			n++
		}
	}
	return n
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+3 < len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// removeCreated removes the mount points the child made in the host's
// tree, deepest first. One that is not empty (something else wrote in it
// since) stays. So does one inside the root of another running container
// (its state file is self's neighbour), or one that container made too
// (two runs making /mnt/t at once: the second finds it made): that
// container may have its own mount on it, in its own mount namespace, and
// removing a mount point there detaches that mount (Linux 3.18). Those are returned, to be
// removed once that container is gone.
func removeCreated(paths []HostPath, self string) (inUse []HostPath) {
	if len(paths) == 0 {
		return nil
	}
	roots, created := inUseByOthers(self)
	for i := len(paths) - 1; i >= 0; i-- {
		p := string(paths[i])
		if slices.Contains(created, paths[i]) || slices.ContainsFunc(roots, func(root HostPath) bool { return within(p, string(root)) }) {
			inUse = append([]HostPath{paths[i]}, inUse...)
			continue
		}
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.IsDir():
			_ = unix.Rmdir(p)
		case fi.Mode().IsRegular() && fi.Size() == 0:
			_ = os.Remove(p)
		}
	}
	return inUse
}

// inUseByOthers returns the roots of the running containers but self, and
// the mount points they made (or were about to make when another made
// it first).
func inUseByOthers(self string) (roots, created []HostPath) {
	paths, _ := filepath.Glob(filepath.Join(StateDir(), "*.json"))
	for _, p := range paths {
		if p == self {
			continue
		}
		s, err := lockState(p)
		if err == nil {
			s.release() // its crun is gone: not running
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			continue
		}
		if st, err := readState(p); err == nil {
			roots = append(roots, st.Roots...)
			created = append(created, st.Created...)
		}
	}
	return roots, created
}

// within tells whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// resolveExisting resolves the symlinks of the part of path that exists,
// keeping the rest as it is.
func resolveExisting(path string) string {
	rest := ""
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if p == "/" || p == "." {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
