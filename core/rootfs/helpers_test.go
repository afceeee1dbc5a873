package rootfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// requireRoot skips a test that needs root, or fails it under CI, where
// a silently skipped test would hide a broken setup.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root (chown, mknod, chroot), and CI is set: run the tests as root")
	}
	t.Skip("needs root (chown, mknod, chroot): run the tests as root to include it")
}

var (
	fileTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	dirTime  = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
)

// entry is a tar entry with its contents.
type entry struct {
	tar.Header
	body string
}

func dirEntry(name string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: dirTime}}
}

func fileEntry(name, body string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: fileTime}, body: body}
}

func symlinkEntry(name, target string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: fileTime}}
}

func hardlinkEntry(name, target string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: fileTime}}
}

func buildTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.Header
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("write tar header %s: %v", hdr.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("write tar body %s: %v", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTestFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTestFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s exists (or cannot be checked: %v); it must not", p, err)
	}
}

// ociLayout writes an OCI image layout for a test.
type ociLayout struct {
	t   *testing.T
	dir string
}

func newLayout(t *testing.T) *ociLayout {
	t.Helper()
	l := &ociLayout{t: t, dir: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(l.dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(l.dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	return l
}

func (l *ociLayout) blob(mediaType string, data []byte) descriptor {
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	writeTestFile(l.t, filepath.Join(l.dir, "blobs", "sha256", hexSum), data)
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hexSum, Size: int64(len(data))}
}

func (l *ociLayout) jsonBlob(mediaType string, v any) descriptor {
	data, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	return l.blob(mediaType, data)
}

// blobFile is where a descriptor's blob is, for tampering with it.
func (l *ociLayout) blobFile(d descriptor) string {
	return filepath.Join(l.dir, "blobs", "sha256", d.Digest[len("sha256:"):])
}

func (l *ociLayout) manifest(mediaType string, layers ...descriptor) descriptor {
	config := l.jsonBlob("application/vnd.oci.image.config.v1+json", map[string]any{
		"os": "linux", "architecture": "amd64",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{}},
	})
	config.MediaType = "application/vnd.oci.image.config.v1+json"
	return l.jsonBlob(mediaType, map[string]any{
		"schemaVersion": 2, "mediaType": mediaType, "config": config, "layers": layers,
	})
}

func (l *ociLayout) imageIndex(manifests ...descriptor) descriptor {
	return l.jsonBlob(mediaTypeIndex, map[string]any{
		"schemaVersion": 2, "mediaType": mediaTypeIndex, "manifests": manifests,
	})
}

// writeIndex writes index.json, the layout's entry point.
func (l *ociLayout) writeIndex(manifests ...descriptor) {
	data, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": mediaTypeIndex, "manifests": manifests,
	})
	if err != nil {
		l.t.Fatal(err)
	}
	writeTestFile(l.t, filepath.Join(l.dir, "index.json"), data)
}

const (
	layerTar   = "application/vnd.oci.image.layer.v1.tar"
	layerTarGz = "application/vnd.oci.image.layer.v1.tar+gzip"
)
