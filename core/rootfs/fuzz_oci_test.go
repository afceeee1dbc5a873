package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// FuzzImportOCI: whatever index.json and the manifest it leads to say,
// Import of an OCI layout writes nothing outside its target, nor in the
// layout, and a failed import leaves the target as it was (absent, or
// with what it held). The layers are fixed, valid tars, some of them
// hostile when stacked (a symlink in one, a file through it in the
// next); the fuzzer chooses which, in which order, under which media
// types and digests.
//
// The inputs name blobs by placeholders, replaced by their digests:
// @L0 to @L9 the layers, @M a manifest of @L0 and @L1, @I an image index
// of @M (linux/amd64) and a manifest of @L2 and @L3 (linux/arm64), and,
// in index.json only, @F the fuzzed manifest blob itself.
func FuzzImportOCI(f *testing.F) {
	t := &testing.T{}
	layers := []struct {
		mediaType string
		data      []byte
	}{
		{layerTarGz, gzipped(t, buildTar(t, dirEntry("etc/"), fileEntry("etc/keep", "k"), fileEntry("etc/gone", "g"),
			dirEntry("opq/"), fileEntry("opq/old", "o"), fileEntry("a.txt", "v1")))},
		{layerTar, buildTar(t, fileEntry("etc/.wh.gone", ""), fileEntry("opq/.wh..wh..opq", ""), fileEntry("opq/new", "n"),
			fileEntry(".wh.dir", ""))},
		// Symlinks out, then one way each to go through them: a file, a
		// file over one outside, a hard link, a whiteout, and an opaque
		// directory through the root's own symlink out (esc, when it
		// exists).
		{layerTar, buildTar(t, symlinkEntry("up", ".."), symlinkEntry("out", "../outside"), symlinkEntry("abs", "/"))},
		{layerTar, buildTar(t, fileEntry("up/evil", "x"))},
		{layerTar, buildTar(t, fileEntry("out/file", "x"))},
		{layerTar, buildTar(t, hardlinkEntry("hl", "up/outside/file"))},
		{layerTar, buildTar(t, fileEntry("up/.wh.outside", ""))},
		{layerTar, buildTar(t, fileEntry("esc/.wh..wh..opq", ""), fileEntry("esc/evil", "x"))},
		{layerTarGz, gzipped(t, sampleRootfs(t))},
		{layerTar, buildTar(t, fileEntry("hl", "over"), hardlinkEntry("keep2", "etc/keep"), dirEntry("up/"), fileEntry("up/inside", "i"))},
	}
	// The fixed blobs are written once; an input's layout gets hard
	// links to those its placeholders name (no config: Import does not
	// read it).
	fixed := &ociLayout{t: t, dir: f.TempDir()}
	if err := os.MkdirAll(filepath.Join(fixed.dir, "blobs", "sha256"), 0o755); err != nil {
		f.Fatal(err)
	}
	var ds []descriptor
	var placeholders []string // placeholder, digest, ...
	needs := map[string][]descriptor{}
	for i, layer := range layers {
		d := fixed.blob(layer.mediaType, layer.data)
		ds = append(ds, d)
		name := fmt.Sprintf("@L%d", i)
		placeholders = append(placeholders, name, d.Digest)
		needs[name] = []descriptor{d}
	}
	m := fixed.manifest(mediaTypeManifest, ds[0], ds[1])
	m.Platform = &platform{OS: "linux", Architecture: "amd64"}
	arm := fixed.manifest(mediaTypeManifest, ds[2], ds[3])
	arm.Platform = &platform{OS: "linux", Architecture: "arm64"}
	idx := fixed.imageIndex(m, arm)
	placeholders = append(placeholders, "@M", m.Digest, "@I", idx.Digest)
	needs["@M"] = []descriptor{m, ds[0], ds[1]}
	needs["@I"] = []descriptor{idx, m, arm, ds[0], ds[1], ds[2], ds[3]}
	fill := strings.NewReplacer(placeholders...)

	manifest := func(layers ...string) string {
		var ds []string
		for _, l := range layers {
			mt := layerTar
			if l == "@L0" || l == "@L8" {
				mt = layerTarGz
			}
			ds = append(ds, fmt.Sprintf(`{"mediaType":%q,"digest":%q}`, mt, l))
		}
		return fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"layers":[%s]}`, mediaTypeManifest, strings.Join(ds, ","))
	}
	index := func(descs ...string) string {
		return fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, mediaTypeIndex, strings.Join(descs, ","))
	}
	toF := fmt.Sprintf(`{"mediaType":%q,"digest":"@F"}`, mediaTypeManifest)
	for _, seed := range []struct {
		index, manifest, platform string
		existing                  bool
	}{
		{index(toF), manifest("@L0", "@L1"), "", false},
		{index(toF), manifest("@L0", "@L1", "@L9"), "", true},
		{index(toF), manifest("@L0", "@L8", "@L2", "@L9", "@L1"), "", true},
		{index(toF), manifest("@L0", "@L2", "@L9", "@L3"), "", false},
		{index(toF), manifest("@L2", "@L3"), "", false},
		{index(toF), manifest("@L2", "@L4"), "", true},
		{index(toF), manifest("@L2", "@L5"), "", false},
		{index(toF), manifest("@L2", "@L6"), "", false},
		{index(toF), manifest("@L7"), "", true},
		{index(toF), manifest("@L0", "../../outside/file"), "", false},
		{index(toF), `{"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"@L0"}]}`, "", false},
		{index(toF), `{"layers":[{"mediaType":"` + layerTar + `","digest":"@L0","size":3}]}`, "", false},
		{index(toF), `{"layers":[{"mediaType":"` + layerTar + `","digest":"@F"}]}`, "", false},
		{index(`{"digest":"@F"}`), `{"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"@L0"}]}`, "", false},
		{index(`{"mediaType":"` + mediaTypeDockerManifest + `","digest":"@F"}`), manifest("@L9"), "", true},
		{index(`{"digest":"@I"}`), "", "", false},
		{index(`{"digest":"@I"}`), "", "linux/arm64", true},
		{index(`{"digest":"@I"}`), "", "linux/s390x", false},
		{index(`{"digest":"@F"}`), index(`{"digest":"@M","platform":{"os":"linux","architecture":"arm64"}}`, `{"digest":"@I"}`), "", false},
		{index(fmt.Sprintf(`{"mediaType":%q,"digest":"@F"}`, mediaTypeIndex)),
			index(`{"digest":"@M","platform":{"os":"linux","architecture":"amd64"}}`, `{"digest":"@M","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}`), "linux/arm64/v8", false},
		{index(`{"digest":"@M"}`, `{"digest":"@F"}`), manifest("@L3"), "", false},
		{index(`{"digest":"@M","size":99999999999}`), "", "", false},
		{index(), "", "", false},
		{`{}`, "", "", true},
		{`{"manifests":null,"mediaType":"` + mediaTypeManifest + `","layers":[{"digest":"@L0"}]}`, "", "", false},
		{`not json`, `not json`, "/", false},
	} {
		f.Add([]byte(seed.index), []byte(seed.manifest), seed.platform, seed.existing)
	}
	f.Fuzz(func(t *testing.T, indexJSON, manifestBlob []byte, want string, existing bool) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(outside, "file"), []byte("original"))
		root := filepath.Join(base, "root")
		if existing {
			// What a root already holds, a symlink out and a second
			// name for a file outside among it, is gone over.
			if err := os.MkdirAll(filepath.Join(root, "dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, filepath.Join(root, "keep"), []byte("old"))
			writeTestFile(t, filepath.Join(root, "dir", "x"), []byte("old"))
			if err := os.Symlink("../outside", filepath.Join(root, "esc")); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(outside, "file"), filepath.Join(root, "hl")); err != nil {
				t.Fatal(err)
			}
		}

		l := &ociLayout{t: t, dir: filepath.Join(base, "layout")}
		if err := os.MkdirAll(filepath.Join(l.dir, "blobs", "sha256"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(l.dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
		named := string(indexJSON) + string(manifestBlob)
		for placeholder, blobs := range needs {
			if !strings.Contains(named, placeholder) {
				continue
			}
			for _, d := range blobs {
				if err := os.Link(fixed.blobFile(d), l.blobFile(d)); err != nil && !os.IsExist(err) {
					t.Fatal(err)
				}
			}
		}
		manifestBlob = []byte(fill.Replace(string(manifestBlob)))
		sum := sha256.Sum256(manifestBlob)
		writeTestFile(t, filepath.Join(l.dir, "blobs", "sha256", hex.EncodeToString(sum[:])), manifestBlob)
		fillF := strings.NewReplacer("@F", "sha256:"+hex.EncodeToString(sum[:]))
		writeTestFile(t, filepath.Join(l.dir, "index.json"), []byte(fillF.Replace(fill.Replace(string(indexJSON)))))

		before := listTree(t, base)
		beforeMeta := listMeta(t, base)
		report, err := Import(l.dir, root, ImportOptions{Platform: want})
		after := listTree(t, base)
		afterMeta := listMeta(t, base)

		if err == nil && (report == nil || !strings.HasPrefix(report.Manifest, "sha256:")) {
			t.Fatalf("Import succeeded with report %+v: want the manifest it used", report)
		}
		if err != nil && err.Error() == "" {
			t.Fatalf("Import failed with an empty message")
		}
		target := func(p string) bool { return err == nil && (p == "root" || strings.HasPrefix(p, "root/")) }
		var changed []string
		for p, v := range after {
			if !target(p) && (before[p] != v || beforeMeta[p].owner != afterMeta[p].owner || afterMeta[p].nlink > beforeMeta[p].nlink) {
				changed = append(changed, p)
			}
		}
		for p := range before {
			if _, ok := after[p]; !ok && !target(p) {
				changed = append(changed, p)
			}
		}
		if len(changed) > 0 {
			sort.Strings(changed)
			where := "outside its target"
			if err != nil {
				where = "in its target or outside, and failed: " + err.Error()
			}
			t.Fatalf("Import added, changed or removed %s: %v", where, changed)
		}
	})
}

// meta is what listTree leaves out of a file: a chmod or chown through a
// symlink changes owner, a hard link made to a file outside adds to its
// nlink. (The number of links may go down: the old root, removed when an
// import replaces it, may have held a second name of a file outside.)
type meta struct {
	owner string // mode, uid and gid
	nlink uint64
}

// listMeta maps every path under dir (relative) to its meta.
func listMeta(t *testing.T, dir string) map[string]meta {
	out := map[string]meta{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		st := fi.Sys().(*syscall.Stat_t)
		out[rel] = meta{fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid), uint64(st.Nlink)}
		return nil
	})
	return out
}
