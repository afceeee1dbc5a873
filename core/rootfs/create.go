package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CreateOptions tune Create.
type CreateOptions struct {
	// Busybox is the path of a statically linked busybox; empty means
	// searching /bin, /usr/bin, /usr/local/bin and /sbin.
	Busybox string
}

// markerFile marks a directory as made by Create, so that Create may run
// on it again (to repair or update it) without fearing to clobber
// someone else's files.
const (
	markerFile = "etc/crun-rootfs"
	markerLine = "This root file system was made by crun rootfs create."
)

// layout is the directory tree of a minimal rootfs and its modes.
var layout = []struct {
	name string
	mode fs.FileMode
}{
	{"bin", 0o755}, {"sbin", 0o755}, {"usr", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755},
	{"proc", 0o755}, {"sys", 0o755}, {"dev", 0o755},
	{"tmp", 0o777 | fs.ModeSticky},
	{"mnt", 0o755}, {"etc", 0o755}, {"root", 0o700},
	{"var", 0o755}, {"run", 0o755}, {"home", 0o755},
}

// etcFiles are written only when missing, so that a rerun keeps edits.
var etcFiles = []struct{ name, content string }{
	{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
}

// Create builds a minimal root file system in dir from a static busybox
// on the host: the usual directories, busybox as /bin/busybox with a
// symlink to it for each applet, and /etc/passwd and /etc/group. dir must
// not exist, be empty, or be a rootfs made earlier by Create, which is
// then brought up to date.
func Create(dir string, opts CreateOptions) error {
	busybox, err := findBusybox(opts.Busybox)
	if err != nil {
		return err
	}
	if err := checkTarget(dir); err != nil {
		return err
	}
	// Ask for the applets before writing anything, so that a busybox
	// that fails to run leaves no half-made tree behind.
	names, err := applets(busybox)
	if err != nil {
		return err
	}
	if err := makeLayout(dir); err != nil {
		return err
	}
	if err := installBusybox(busybox, filepath.Join(dir, "bin", "busybox")); err != nil {
		return err
	}
	for _, name := range names {
		if err := linkApplet(dir, name); err != nil {
			return err
		}
	}
	for _, f := range etcFiles {
		if err := writeIfMissing(filepath.Join(dir, f.name), f.content); err != nil {
			return err
		}
	}
	return writeIfMissing(filepath.Join(dir, markerFile), markerLine+"\n")
}

// checkTarget refuses a dir that holds anything but an earlier Create's
// work. dir itself is the caller's choice, so a symlink to a directory
// is followed.
func checkTarget(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check rootfs directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("rootfs directory %s exists and is not a directory; refusing to write into it", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("check rootfs directory %s: %w", dir, err)
	}
	if len(entries) == 0 || madeByCreate(dir) {
		return nil
	}
	return fmt.Errorf("rootfs directory %s is not empty; refusing to write into it", dir)
}

// madeByCreate reports whether dir carries Create's marker.
func madeByCreate(dir string) bool {
	f, err := os.Open(filepath.Join(dir, markerFile))
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.TrimSpace(line) == markerLine
}

// makeLayout creates the directories. An existing rootfs may have been
// changed since, so each must be a real directory: following a symlink
// here (say bin -> /bin) would write busybox over the host's files.
func makeLayout(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create rootfs directory %s: %w", dir, err)
	}
	for _, d := range layout {
		p := filepath.Join(dir, d.name)
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create directory %s: %w", p, err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("check directory %s: %w", p, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory; refusing to write through it", p)
		}
		// Set the mode explicitly: Mkdir is subject to the umask, which
		// would turn tmp's 1777 into something unusable.
		if err := os.Chmod(p, d.mode); err != nil {
			return fmt.Errorf("set mode of %s: %w", p, err)
		}
	}
	return nil
}

// installBusybox copies busybox through a temporary file and a rename,
// so that an existing bin/busybox is replaced (never written through, if
// it were a symlink) and never seen half-written.
func installBusybox(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy busybox %s: %w", src, err)
	}
	defer in.Close()
	tmp := dst + ".crun-tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove stale %s: %w", tmp, err)
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return fmt.Errorf("copy busybox to %s: %w", tmp, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o755) // the umask may have cut the mode
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy busybox %s to %s: %w", src, dst, err)
	}
	return nil
}

// linkApplet makes name a symlink to /bin/busybox, which runs the applet
// named by the link. A wrong symlink is fixed; a real file is left alone,
// as someone put it there on purpose.
func linkApplet(dir, name string) error {
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("check applet link %s: %w", p, err)
	case fi.Mode()&fs.ModeSymlink == 0:
		return nil
	default:
		if target, err := os.Readlink(p); err == nil && target == "/bin/busybox" {
			return nil
		}
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("replace applet link %s: %w", p, err)
		}
	}
	if err := os.Symlink("/bin/busybox", p); err != nil {
		return fmt.Errorf("link applet %s to /bin/busybox: %w", p, err)
	}
	return nil
}

// writeIfMissing creates a file unless something (even a dangling
// symlink, which O_EXCL refuses to follow) is already there.
func writeIfMissing(p, content string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(p, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
