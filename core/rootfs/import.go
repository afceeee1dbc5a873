package rootfs

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Platform picks the image of a multi-platform OCI layout, as
	// "os/arch" or "os/arch/variant"; empty means the one crun runs on.
	Platform string
}

// ImportReport says what Import did.
type ImportReport struct {
	Layers    int    // layers applied; a tar archive counts as one
	Entries   int    // files, directories, links and devices written
	Whiteouts int    // whiteouts applied
	Manifest  string // digest of the image manifest used; empty for a tar archive
}

// Import unpacks the root file system src into dir, which is created if
// missing. src is a tar archive, plain or gzip-compressed, or an OCI
// image layout directory, whose image layers are applied in order.
// Like a layer, the import goes over what dir already holds: entries
// replace what is at their path, and whiteouts remove from it.
//
// Everything in src is checked to stay inside dir (see the package
// comment); the first entry that would not is refused with an error.
// The import is all or nothing: it is made in a sibling of dir (a copy
// of what dir holds, its files hard links) that replaces dir, in one
// rename, only once every layer applied. A failed import, or one killed
// half-way, leaves dir as it was (and at worst the sibling, named
// .DIR.import-*, behind).
func Import(src, dir string, opts ImportOptions) (*ImportReport, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("import %s: neither a tar archive nor an OCI image layout directory", src)
	}
	dir = filepath.Clean(dir)
	existing, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		existing = nil
	case err != nil:
		return nil, fmt.Errorf("import %s: %w", src, err)
	case !existing.IsDir():
		return nil, fmt.Errorf("import %s: %s is not a directory", src, dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("import %s: create %s: %w", src, filepath.Dir(dir), err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".import-")
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	report, err := importInto(src, fi, staging, dir, existing, opts)
	if err != nil {
		os.RemoveAll(staging)
		return nil, err
	}
	return report, nil
}

// importInto applies src in staging, a copy of dir, then puts staging
// in dir's place.
func importInto(src string, fi os.FileInfo, staging, dir string, existing os.FileInfo, opts ImportOptions) (*ImportReport, error) {
	// The new root has the old one's mode and owner (0755 and the
	// importer's when there was none), unless a layer sets them.
	mode, uid, gid := os.FileMode(0o755), os.Getuid(), os.Getgid()
	if existing != nil {
		st := existing.Sys().(*syscall.Stat_t)
		mode, uid, gid = existing.Mode().Perm(), int(st.Uid), int(st.Gid)
		if err := cloneTree(dir, staging); err != nil {
			return nil, fmt.Errorf("import %s: copy what %s holds: %w", src, dir, err)
		}
	}
	if err := os.Chmod(staging, mode); err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	if err := os.Lchown(staging, uid, gid); err != nil && !errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	a := newApplier(staging)
	var err error
	if fi.IsDir() {
		err = importLayout(a, src, opts)
	} else {
		err = importTarball(a, src)
	}
	if err == nil {
		err = a.finish()
	}
	if err != nil {
		return nil, err
	}
	if existing == nil {
		if err := os.Rename(staging, dir); err != nil {
			return nil, fmt.Errorf("import %s: move the import into place: %w", src, err)
		}
		return &a.report, nil
	}
	// One atomic exchange; staging then holds the old tree.
	if err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return nil, fmt.Errorf("import %s: put the import in place of %s: %w", src, dir, err)
	}
	os.RemoveAll(staging)
	return &a.report, nil
}

// importTarball applies a tar archive, such as an Alpine minirootfs or a
// `docker export`, as a single layer.
func importTarball(a *applier, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("import %s: %w", src, err)
	}
	defer f.Close()
	r, err := decompress(f)
	if err != nil {
		return fmt.Errorf("import %s: %w", src, err)
	}
	if err := a.applyLayer(r); err != nil {
		return fmt.Errorf("import %s: %w", src, err)
	}
	return nil
}

// decompress undoes gzip when the stream starts with its magic bytes.
// Names lie (".tar" files that are compressed, layers with the wrong
// media type), the content does not.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if len(magic) == 0 {
		return nil, errors.New("empty file; not a tar archive")
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return zr, nil
}

// isLayout reports whether dir looks like an OCI image layout.
func isLayout(dir string) bool {
	for _, name := range []string{"oci-layout", "index.json"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}
