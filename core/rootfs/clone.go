package rootfs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// cloneTree makes dst (an existing, empty directory) a copy of the tree
// src for an import to go over: directories, symbolic links and special
// files are made anew with src's modes, owners and times; regular files
// are hard links (the applier replaces a file it writes by a new one, so
// the originals are never written). Nothing is followed through a
// symbolic link.
func cloneTree(src, dst string) error {
	type dirTimes struct {
		path string
		st   *syscall.Stat_t
	}
	var dirs []dirTimes
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirTimes{target, st})
		case fi.Mode().IsRegular():
			return os.Link(p, target)
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		default: // devices, fifos, sockets
			if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("mknod %s: %w", target, err)
			}
		}
		if !fi.Mode().IsRegular() {
			if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil && !os.IsPermission(err) {
				return err
			}
			if fi.Mode()&fs.ModeSymlink == 0 && !fi.IsDir() {
				return unix.Chmod(target, st.Mode&0o7777)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Modes and times of directories last: a read-only one must still
	// take its entries, and each entry made changed its parent's times.
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := unix.Chmod(d.path, d.st.Mode&0o7777); err != nil {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(d.st.Atim.Nano()), unix.NsecToTimespec(d.st.Mtim.Nano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, d.path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}
