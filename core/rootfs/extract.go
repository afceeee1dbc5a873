package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// applier writes layers, one after the other, into a root directory.
type applier struct {
	root   string
	report ImportReport
	// keep holds what the current layer wrote and all their parents.
	// Whiteouts only hide what lower layers left; since a layer's
	// entries come in any order, this is how an opaque directory tells
	// its own layer's files from older ones.
	keep map[string]bool
	// dirTimes are applied once everything is written, because writing
	// into a directory changes its modification time.
	dirTimes map[string]*tar.Header
}

func newApplier(root string) *applier {
	return &applier{root: root, dirTimes: map[string]*tar.Header{}}
}

// applyLayer writes one tar stream over the root.
func (a *applier) applyLayer(r io.Reader) error {
	a.keep = map[string]bool{}
	tr := tar.NewReader(r)
	for first := true; ; first = false {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && first {
			return fmt.Errorf("not a tar archive: %w", err)
		}
		if err != nil {
			return fmt.Errorf("read tar entry: %w", err)
		}
		if err := a.apply(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	a.report.Layers++
	return nil
}

// apply writes one entry.
func (a *applier) apply(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeGNUSparse || isPAXSparse(hdr) {
		// archive/tar expands the holes of a sparse file into zeros: a
		// few kilobytes of archive would fill the disk with gigabytes.
		return errors.New("sparse files are not supported: re-create the archive without --sparse")
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // pax defaults, already merged into later headers by archive/tar
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	parts, err := splitName(hdr.Name)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		// "./" describes the root itself.
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("names the root but is not a directory")
		}
		a.report.Entries++
		return a.setDirMeta(a.root, hdr)
	}
	if strings.HasPrefix(parts[len(parts)-1], whiteoutPrefix) {
		return a.whiteout(parts)
	}
	p, _, err := resolve(a.root, parts, true)
	if err != nil {
		return err
	}
	a.markKept(parts)
	a.report.Entries++
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.writeDir(p, hdr)
	case tar.TypeReg:
		return a.writeFile(p, hdr, r)
	case tar.TypeSymlink:
		return a.writeSymlink(p, hdr)
	case tar.TypeLink:
		return a.writeHardlink(p, hdr)
	default:
		return a.writeSpecial(p, hdr)
	}
}

// isPAXSparse tells whether a header describes a file in one of the GNU
// sparse formats carried in PAX records (0.0, 0.1 and 1.0 all use the
// "GNU.sparse." prefix).
func isPAXSparse(hdr *tar.Header) bool {
	for key := range hdr.PAXRecords {
		if strings.HasPrefix(key, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// markKept records a path written by this layer, with its parents.
func (a *applier) markKept(parts []string) {
	for i := 1; i <= len(parts); i++ {
		a.keep[joinRel(parts[:i])] = true
	}
}

// removeExisting clears the way for a new entry. The old one is removed,
// never written into: it may be a symlink pointing anywhere, or a hard
// link whose other names must keep their contents.
func (a *applier) removeExisting(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", p, err)
	}
	if fi.IsDir() {
		err = os.RemoveAll(p)
		a.forgetDirTimes(p)
	} else {
		err = os.Remove(p)
	}
	if err != nil {
		return fmt.Errorf("replace %s: %w", p, err)
	}
	return nil
}

func (a *applier) writeDir(p string, hdr *tar.Header) error {
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() {
		// Not a directory yet (a symlink's Lstat is not a directory,
		// so one is replaced, not followed).
		if err := a.removeExisting(p); err != nil {
			return err
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			return fmt.Errorf("create directory %s: %w", p, err)
		}
	}
	return a.setDirMeta(p, hdr)
}

// setDirMeta sets a directory's owner and mode now, its times later.
func (a *applier) setDirMeta(p string, hdr *tar.Header) error {
	if err := setOwnerMode(p, hdr); err != nil {
		return err
	}
	a.dirTimes[p] = hdr
	return nil
}

func (a *applier) writeFile(p string, hdr *tar.Header, r io.Reader) error {
	if err := a.removeExisting(p); err != nil {
		return err
	}
	// O_EXCL|O_NOFOLLOW: the path was just cleared, so anything found
	// there now is a surprise to refuse rather than follow.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("create file %s: %w", p, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write file %s: %w", p, err)
	}
	if err := setOwnerMode(p, hdr); err != nil {
		return err
	}
	return setTimes(p, hdr)
}

// writeSymlink creates the link as it is: the target may be absolute or
// point outside the root, which is harmless as long as nothing here
// follows it.
func (a *applier) writeSymlink(p string, hdr *tar.Header) error {
	if err := a.removeExisting(p); err != nil {
		return err
	}
	if err := os.Symlink(hdr.Linkname, p); err != nil {
		return fmt.Errorf("create symlink %s -> %s: %w", p, hdr.Linkname, err)
	}
	if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("set owner of %s to %d:%d: %w", p, hdr.Uid, hdr.Gid, err)
	}
	return setTimes(p, hdr)
}

// writeHardlink links to an earlier entry. Its target is a name in the
// archive, so it gets the same checks as an entry's own name: a link to
// a host file would let later writes reach it.
func (a *applier) writeHardlink(p string, hdr *tar.Header) error {
	parts, err := splitName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if len(parts) == 0 {
		return fmt.Errorf("hard link target %q is the root", hdr.Linkname)
	}
	target, exists, err := resolve(a.root, parts, false)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if !exists {
		return fmt.Errorf("hard link target %q does not exist", hdr.Linkname)
	}
	if target == p {
		return nil // a link to itself: removing it first would lose it
	}
	if err := a.removeExisting(p); err != nil {
		return err
	}
	// os.Link does not follow a symlink target, so the worst a symlink
	// there can do is become a second name for the symlink.
	if err := os.Link(target, p); err != nil {
		return fmt.Errorf("create hard link %s -> %s: %w", p, target, err)
	}
	return nil
}

// writeSpecial creates a device node or a FIFO.
func (a *applier) writeSpecial(p string, hdr *tar.Header) error {
	if err := a.removeExisting(p); err != nil {
		return err
	}
	var kind uint32 = unix.S_IFIFO
	switch hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknod(p, kind|perm(hdr), int(dev)); err != nil {
		return fmt.Errorf("create device %s (%d:%d): %w", p, hdr.Devmajor, hdr.Devminor, err)
	}
	if err := setOwnerMode(p, hdr); err != nil {
		return err
	}
	return setTimes(p, hdr)
}

// perm is the entry's permission bits, setuid, setgid and sticky
// included.
func perm(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

// setOwnerMode sets owner then mode, in that order because chown clears
// the setuid and setgid bits. Never used on symlinks, so Chmod's
// following of a final symlink cannot happen.
func setOwnerMode(p string, hdr *tar.Header) error {
	if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("set owner of %s to %d:%d: %w", p, hdr.Uid, hdr.Gid, err)
	}
	if err := unix.Chmod(p, perm(hdr)); err != nil {
		return fmt.Errorf("set mode of %s to %04o: %w", p, perm(hdr), err)
	}
	return nil
}

// setTimes sets access and modification times of p itself, not of what
// it may point to.
func setTimes(p string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime // plain ustar archives carry no access time
	}
	ts := []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", p, err)
	}
	return nil
}

// timespec is t for utimensat. A time a 32-bit time_t cannot hold (after
// 2038) leaves the file's time as it is (UTIME_OMIT).
func timespec(t time.Time) unix.Timespec {
	ts, err := unix.TimeToTimespec(t)
	if err != nil {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return ts
}

// finish sets directory times, last because every write into a
// directory changed them. A directory removed or replaced since its
// entry is skipped.
func (a *applier) finish() error {
	for p, hdr := range a.dirTimes {
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := setTimes(p, hdr); err != nil {
			return err
		}
	}
	return nil
}

// forgetDirTimes drops the pending times of p and everything below it,
// once removed, so that a directory later made anew at the same place
// does not get them.
func (a *applier) forgetDirTimes(p string) {
	prefix := p + string(filepath.Separator)
	for d := range a.dirTimes {
		if d == p || strings.HasPrefix(d, prefix) {
			delete(a.dirTimes, d)
		}
	}
}
