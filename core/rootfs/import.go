package rootfs

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// comment); the first entry that would not is refused with an error, and
// dir is left with what was written before it.
func Import(src, dir string, opts ImportOptions) (*ImportReport, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("import %s: create %s: %w", src, dir, err)
	}
	a := newApplier(dir)
	switch {
	case fi.IsDir():
		err = importLayout(a, src, opts)
	case fi.Mode().IsRegular():
		err = importTarball(a, src)
	default:
		err = fmt.Errorf("import %s: neither a tar archive nor an OCI image layout directory", src)
	}
	if err == nil {
		err = a.finish()
	}
	if err != nil {
		return nil, err
	}
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
