package rootfs

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sampleRootfs has one entry of each kind Import preserves.
func sampleRootfs(t *testing.T) []byte {
	owned := fileEntry("./etc/hello", "hello\n")
	owned.Uid, owned.Gid = 1234, 5678
	setuid := fileEntry("./bin/tool", "#!/bin/sh\n")
	setuid.Mode = 0o4755
	null := entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "./dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: fileTime}}
	fifo := entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "./dev/fifo", Mode: 0o600, ModTime: fileTime}}
	sticky := dirEntry("./tmp/")
	sticky.Mode = 0o1777
	return buildTar(t,
		dirEntry("./"),
		dirEntry("./etc/"),
		owned,
		dirEntry("./bin/"),
		setuid,
		hardlinkEntry("./bin/alias", "./bin/tool"),
		symlinkEntry("./bin/sh", "/bin/busybox"),
		dirEntry("./dev/"),
		null,
		fifo,
		sticky,
		// No entries for its parents, as some archives do.
		fileEntry("usr/share/deep/file", "deep\n"),
	)
}

func TestImportTarball(t *testing.T) {
	requireRoot(t)
	plain := sampleRootfs(t)
	// The names say the opposite of the contents: gzip is told by its
	// magic bytes.
	for name, data := range map[string][]byte{"rootfs.tar.gz": plain, "rootfs.tar": gzipped(t, plain)} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), name)
			writeTestFile(t, src, data)
			root := filepath.Join(t.TempDir(), "root")
			report, err := Import(src, root, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if report.Layers != 1 || report.Entries != 12 || report.Whiteouts != 0 {
				t.Errorf("report = %+v, want 1 layer, 12 entries, 0 whiteouts", *report)
			}
			checkSample(t, root)
		})
	}
}

func checkSample(t *testing.T, root string) {
	t.Helper()
	if got := readTestFile(t, filepath.Join(root, "etc/hello")); got != "hello\n" {
		t.Errorf("etc/hello = %q", got)
	}
	if got := readTestFile(t, filepath.Join(root, "usr/share/deep/file")); got != "deep\n" {
		t.Errorf("usr/share/deep/file = %q", got)
	}
	st := lstat(t, filepath.Join(root, "etc/hello"))
	if st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("etc/hello owner = %d:%d, want 1234:5678", st.Uid, st.Gid)
	}
	checkMtime(t, filepath.Join(root, "etc/hello"), st, fileTime)
	// etc got a file after its entry; its time must still be the entry's.
	checkMtime(t, filepath.Join(root, "etc"), lstat(t, filepath.Join(root, "etc")), dirTime)

	st = lstat(t, filepath.Join(root, "bin/tool"))
	if st.Mode&0o7777 != 0o4755 {
		t.Errorf("bin/tool mode = %04o, want 4755", st.Mode&0o7777)
	}
	if alias := lstat(t, filepath.Join(root, "bin/alias")); alias.Ino != st.Ino || st.Nlink != 2 {
		t.Errorf("bin/alias inode %d, bin/tool inode %d with %d links: want one inode, 2 links", alias.Ino, st.Ino, st.Nlink)
	}
	if target, err := os.Readlink(filepath.Join(root, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q (%v), want /bin/busybox", target, err)
	}
	checkMtime(t, filepath.Join(root, "bin/sh"), lstat(t, filepath.Join(root, "bin/sh")), fileTime)

	st = lstat(t, filepath.Join(root, "dev/null"))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o7777 != 0o666 {
		t.Errorf("dev/null mode %o rdev %d:%d, want a 1:3 character device, 0666",
			st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if st = lstat(t, filepath.Join(root, "dev/fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("dev/fifo mode %o, want a FIFO", st.Mode)
	}
	if st = lstat(t, filepath.Join(root, "tmp")); st.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp mode %04o, want 1777", st.Mode&0o7777)
	}
}

func lstat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

func checkMtime(t *testing.T, p string, st *syscall.Stat_t, want time.Time) {
	t.Helper()
	if got := time.Unix(st.Mtim.Unix()); !got.Equal(want) {
		t.Errorf("%s mtime = %v, want %v", p, got, want)
	}
}

// Importing over an existing tree replaces entries of another type, and
// never writes through what was there.
func TestImportOverExisting(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "wasdir", "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTestFile(t, filepath.Join(outside, "file"), []byte("outside\n"))
	writeTestFile(t, filepath.Join(root, "wasfile"), []byte("old\n"))
	writeTestFile(t, filepath.Join(root, "linked"), []byte("shared\n"))
	if err := os.Link(filepath.Join(root, "linked"), filepath.Join(root, "otherlink")); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"filelink": filepath.Join(outside, "file"), "dirlink": outside} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(base, "layer.tar")
	restricted := dirEntry("dirlink/")
	restricted.Mode = 0o700
	writeTestFile(t, src, buildTar(t,
		fileEntry("wasdir", "now a file\n"),
		dirEntry("wasfile/"),
		fileEntry("filelink", "replaced\n"),
		restricted,
		fileEntry("linked", "new\n"),
	))
	if _, err := Import(src, root, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(root, "wasdir")); got != "now a file\n" {
		t.Errorf("wasdir = %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(root, "wasfile")); err != nil || !fi.IsDir() {
		t.Errorf("wasfile is not a directory: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "filelink")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("filelink is not a regular file: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "dirlink")); err != nil || !fi.IsDir() {
		t.Errorf("dirlink is not a directory: %v", err)
	}
	if got := readTestFile(t, filepath.Join(outside, "file")); got != "outside\n" {
		t.Errorf("the file outside, once behind a symlink, now holds %q", got)
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the directory outside, once behind a symlink, changed: %v %v", fi.Mode(), err)
	}
	if got := readTestFile(t, filepath.Join(root, "otherlink")); got != "shared\n" {
		t.Errorf("otherlink, a hard link to the replaced file, now holds %q", got)
	}
}

func TestImportRefusesOtherSources(t *testing.T) {
	base := t.TempDir()
	text := filepath.Join(base, "notes.txt")
	writeTestFile(t, text, []byte(strings.Repeat("not a tar archive\n", 100)))
	empty := filepath.Join(base, "empty.tar")
	writeTestFile(t, empty, nil)
	plainDir := filepath.Join(base, "plain")
	if err := os.Mkdir(plainDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		text:                          "not a tar archive",
		empty:                         "empty file",
		plainDir:                      "not an OCI image layout",
		filepath.Join(base, "absent"): "no such file",
	} {
		_, err := Import(src, filepath.Join(t.TempDir(), "root"), ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), src) {
			t.Errorf("Import(%s) = %v, want an error naming it and saying %q", src, err, want)
		}
	}
}

// An import is all or nothing: a truncated archive (the error comes
// half-way through a file) leaves the target as it was, existing or not,
// and nothing of the import beside it.
func TestImportIsAllOrNothing(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	whole := buildTar(t, fileEntry("first", "one\n"), fileEntry("big", strings.Repeat("x", 1<<20)), fileEntry("last", "end\n"))
	src := filepath.Join(base, "truncated.tar")
	writeTestFile(t, src, whole[:len(whole)/2])

	existing := filepath.Join(base, "existing")
	if err := os.Mkdir(existing, 0o750); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(existing, "first"), []byte("kept\n"))
	for _, dir := range []string{existing, filepath.Join(base, "new")} {
		if _, err := Import(src, dir, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "EOF") {
			t.Errorf("%s: a truncated archive imported: %v", dir, err)
		}
	}
	entries, _ := os.ReadDir(existing)
	if len(entries) != 1 || readTestFile(t, filepath.Join(existing, "first")) != "kept\n" {
		t.Errorf("the existing target changed: %v", entries)
	}
	if fi, err := os.Stat(existing); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("the existing target's mode changed: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(base, "new")); !os.IsNotExist(err) {
		t.Errorf("a failed import into a new target left it: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(base, ".*.import-*"))
	if len(left) > 0 {
		t.Errorf("left beside the targets: %v", left)
	}

	// The whole archive goes in, over what was there.
	writeTestFile(t, src, whole)
	if _, err := Import(src, existing, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if readTestFile(t, filepath.Join(existing, "last")) != "end\n" || readTestFile(t, filepath.Join(existing, "first")) != "one\n" {
		t.Error("the whole archive was not imported")
	}
	if fi, err := os.Stat(existing); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("the target's mode changed on import: %v %v", fi.Mode(), err)
	}
}
