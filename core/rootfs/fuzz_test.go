package rootfs

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// FuzzImportTar: whatever the archive, Import writes nothing outside its
// target: the directory around it holds, afterwards, exactly what it did
// before, the target and its staging sibling apart (the sibling only on
// failure... and not even then: it is removed).
func FuzzImportTar(f *testing.F) {
	t := &testing.T{}
	f.Add(buildTar(t, fileEntry("a", "x"), dirEntry("d/"), fileEntry("d/b", "y")))
	f.Add(buildTar(t, fileEntry("../evil", "x")))
	f.Add(buildTar(t, symlinkEntry("link", "/etc"), fileEntry("link/evil", "x")))
	f.Add(buildTar(t, symlinkEntry("up", ".."), fileEntry("up/evil", "x")))
	f.Add(buildTar(t, hardlinkEntry("hl", "../outside/file")))
	f.Add(buildTar(t, dirEntry("sub/"), fileEntry("sub/.wh...", "")))
	f.Add(buildTar(t, fileEntry("a", "x"), fileEntry(".wh.a", "")))
	f.Fuzz(func(t *testing.T, archive []byte) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(outside, "file"), []byte("original"))
		src := filepath.Join(base, "src.tar")
		writeTestFile(t, src, archive)
		before := listTree(t, base)
		Import(src, filepath.Join(base, "root"), ImportOptions{})
		after := listTree(t, base)
		var added, removed []string
		for p := range after {
			if _, ok := before[p]; !ok && p != "root" && !strings.HasPrefix(p, "root/") {
				added = append(added, p)
			}
		}
		for p, v := range before {
			if after[p] != v {
				removed = append(removed, p)
			}
		}
		sort.Strings(added)
		if len(added) > 0 || len(removed) > 0 {
			t.Fatalf("outside the target: added %v, changed or removed %v", added, removed)
		}
	})
}

// listTree maps every path under dir (relative) to its type and, for a
// regular file, its content.
func listTree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		v := fi.Mode().Type().String()
		if fi.Mode().IsRegular() && fi.Size() < 1<<16 {
			b, _ := os.ReadFile(p)
			v += ":" + string(b)
		}
		out[rel] = v
		return nil
	})
	return out
}
