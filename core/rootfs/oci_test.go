package rootfs

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestImportOCILayers(t *testing.T) {
	requireRoot(t)
	l := newLayout(t)
	lower := l.blob(layerTarGz, gzipped(t, buildTar(t,
		dirEntry("etc/"), fileEntry("etc/keep", "k"), fileEntry("etc/gone", "g"),
		dirEntry("opq/"), fileEntry("opq/old", "o"), dirEntry("opq/sub/"), fileEntry("opq/sub/old", "o"),
		dirEntry("gonedir/"), fileEntry("gonedir/x", "x"),
		fileEntry("a.txt", "v1"),
	)))
	// Whiteouts, with this layer's own files in the opaque directory
	// on both sides of its marker, one in a subdirectory that the layer
	// has no entry for.
	middle := l.blob(layerTar, buildTar(t,
		fileEntry("etc/.wh.gone", ""),
		fileEntry("opq/new", "n"),
		fileEntry("opq/sub/new", "n"),
		fileEntry("opq/.wh..wh..opq", ""),
		fileEntry("opq/new2", "n"),
		fileEntry(".wh.gonedir", ""),
	))
	upper := l.blob(layerTarGz, gzipped(t, buildTar(t, fileEntry("a.txt", "v3"))))
	m := l.manifest(mediaTypeManifest, lower, middle, upper)
	l.writeIndex(m)

	root := filepath.Join(t.TempDir(), "root")
	report, err := Import(l.dir, root, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := ImportReport{Layers: 3, Entries: 14, Whiteouts: 3, Manifest: m.Digest}
	if *report != want {
		t.Errorf("report = %+v, want %+v", *report, want)
	}
	for _, gone := range []string{"etc/gone", "opq/old", "opq/sub/old", "gonedir"} {
		mustNotExist(t, filepath.Join(root, gone))
	}
	for name, content := range map[string]string{
		"etc/keep": "k", "opq/new": "n", "opq/new2": "n", "opq/sub/new": "n", "a.txt": "v3",
	} {
		if got := readTestFile(t, filepath.Join(root, name)); got != content {
			t.Errorf("%s = %q, want %q", name, got, content)
		}
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".wh.") {
			t.Errorf("whiteout file %s was written", p)
		}
		return err
	})
}

func TestImportOCIDigestMismatch(t *testing.T) {
	requireRoot(t)
	for _, tamper := range []string{"layer contents", "layer trailer", "manifest"} {
		t.Run(tamper, func(t *testing.T) {
			l := newLayout(t)
			layer := l.blob(layerTar, buildTar(t, fileEntry("file", "genuine")))
			m := l.manifest(mediaTypeManifest, layer)
			l.writeIndex(m)
			bad := layer
			if tamper == "manifest" {
				bad = m
			}
			// Same size, other content: in the file's data, which
			// leaves a valid tar stream, or in the last byte.
			data := []byte(readTestFile(t, l.blobFile(bad)))
			i := len(data) - 1
			if tamper == "layer contents" {
				i = strings.Index(string(data), "genuine")
			}
			data[i] ^= 1
			writeTestFile(t, l.blobFile(bad), data)

			_, err := Import(l.dir, filepath.Join(t.TempDir(), "root"), ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), "digest mismatch") || !strings.Contains(err.Error(), bad.Digest) {
				t.Errorf("Import = %v, want a digest mismatch naming %s", err, bad.Digest)
			}
		})
	}
}

func otherArch() string {
	if runtime.GOARCH == "amd64" {
		return "arm64"
	}
	return "amd64"
}

// multiPlatform writes the usual shape of a multi-platform image:
// index.json -> image index -> a manifest per platform.
func multiPlatform(t *testing.T, archs ...string) *ociLayout {
	l := newLayout(t)
	var ms []descriptor
	for _, arch := range archs {
		layer := l.blob(layerTarGz, gzipped(t, buildTar(t, fileEntry("arch", arch))))
		m := l.manifest(mediaTypeManifest, layer)
		m.Platform = &platform{OS: "linux", Architecture: arch}
		ms = append(ms, m)
	}
	l.writeIndex(l.imageIndex(ms...))
	return l
}

func TestImportOCIPlatform(t *testing.T) {
	requireRoot(t)
	l := multiPlatform(t, otherArch(), runtime.GOARCH)
	for platform, want := range map[string]string{"": runtime.GOARCH, "linux/" + otherArch(): otherArch()} {
		root := filepath.Join(t.TempDir(), "root")
		if _, err := Import(l.dir, root, ImportOptions{Platform: platform}); err != nil {
			t.Fatalf("platform %q: %v", platform, err)
		}
		if got := readTestFile(t, filepath.Join(root, "arch")); got != want {
			t.Errorf("platform %q: imported the %s image, want %s", platform, got, want)
		}
	}

	_, err := Import(l.dir, filepath.Join(t.TempDir(), "root"), ImportOptions{Platform: "linux/s390x"})
	if err == nil || !strings.Contains(err.Error(), "linux/"+runtime.GOARCH) || !strings.Contains(err.Error(), "linux/"+otherArch()) {
		t.Errorf("Import for linux/s390x = %v, want an error listing the platforms there are", err)
	}
}

func TestImportOCIDockerMediaTypes(t *testing.T) {
	requireRoot(t)
	l := newLayout(t)
	layer := l.blob("application/vnd.docker.image.rootfs.diff.tar.gzip", gzipped(t, buildTar(t, fileEntry("file", "docker"))))
	l.writeIndex(l.manifest(mediaTypeDockerManifest, layer))
	root := filepath.Join(t.TempDir(), "root")
	if _, err := Import(l.dir, root, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(root, "file")); got != "docker" {
		t.Errorf("file = %q", got)
	}
}

// Layers that cannot be applied are refused before anything is written.
func TestImportOCIRefusesBadLayers(t *testing.T) {
	for name, layer := range map[string]descriptor{
		"zstd":         {MediaType: "application/vnd.oci.image.layer.v1.tar+zstd"},
		"bad digest":   {MediaType: layerTar, Digest: "sha256:../../../etc/passwd"},
		"other alg":    {MediaType: layerTar, Digest: "sha512:" + strings.Repeat("0", 128)},
		"short digest": {MediaType: layerTar, Digest: "sha256:abc"},
	} {
		t.Run(name, func(t *testing.T) {
			l := newLayout(t)
			if layer.Digest == "" {
				layer = l.blob(layer.MediaType, []byte("(zstd data)"))
			}
			good := l.blob(layerTar, buildTar(t, fileEntry("file", "x")))
			l.writeIndex(l.manifest(mediaTypeManifest, good, layer))
			root := filepath.Join(t.TempDir(), "root")
			_, err := Import(l.dir, root, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), layer.Digest) {
				t.Fatalf("Import = %v, want an error naming layer %s", err, layer.Digest)
			}
			if name == "zstd" && !strings.Contains(err.Error(), layer.MediaType) {
				t.Errorf("error %q does not name the media type", err)
			}
			t.Logf("refused: %v", err)
			mustNotExist(t, filepath.Join(root, "file"))
		})
	}
}
