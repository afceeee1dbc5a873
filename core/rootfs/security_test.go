package rootfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every way out of the root is refused with an error naming the entry,
// and the place it aimed at is left alone.
func TestImportRefusesEscapes(t *testing.T) {
	requireRoot(t)
	passwd, err := os.Stat("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	passwdLinks := passwd.Sys().(*syscall.Stat_t).Nlink

	type env struct{ base, root, outsideDir, outsideFile string }
	cases := []struct {
		name    string
		entries func(e env) []entry
		refused string                    // the entry the error must name; $BASE is the test's directory
		check   func(t *testing.T, e env) // that nothing happened outside
	}{
		{
			name:    "dot-dot",
			entries: func(e env) []entry { return []entry{fileEntry("../evil", "x")} },
			refused: "../evil",
			check:   func(t *testing.T, e env) { mustNotExist(t, filepath.Join(e.base, "evil")) },
		},
		{
			name:    "dot-dot inside",
			entries: func(e env) []entry { return []entry{fileEntry("a/../../evil", "x")} },
			refused: "a/../../evil",
			check: func(t *testing.T, e env) {
				mustNotExist(t, filepath.Join(e.base, "evil"))
				mustNotExist(t, filepath.Join(e.root, "a"))
			},
		},
		{
			// A real absolute path, in the test's own directory so that
			// a failure cannot harm the machine.
			name:    "absolute",
			entries: func(e env) []entry { return []entry{fileEntry(filepath.Join(e.base, "abs-evil"), "x")} },
			refused: "$BASE/abs-evil",
			check:   func(t *testing.T, e env) { mustNotExist(t, filepath.Join(e.base, "abs-evil")) },
		},
		{
			name: "through absolute symlink",
			entries: func(e env) []entry {
				return []entry{symlinkEntry("link", e.outsideDir), fileEntry("link/evil", "x")}
			},
			refused: "link/evil",
			check:   func(t *testing.T, e env) { mustNotExist(t, filepath.Join(e.outsideDir, "evil")) },
		},
		{
			name: "through relative symlink",
			entries: func(e env) []entry {
				return []entry{symlinkEntry("up", "../"), fileEntry("up/evil", "x")}
			},
			refused: "up/evil",
			check:   func(t *testing.T, e env) { mustNotExist(t, filepath.Join(e.base, "evil")) },
		},
		{
			name: "directory through symlink",
			entries: func(e env) []entry {
				return []entry{symlinkEntry("link", e.outsideDir), dirEntry("link/sub/")}
			},
			refused: "link/sub/",
			check:   func(t *testing.T, e env) { mustNotExist(t, filepath.Join(e.outsideDir, "sub")) },
		},
		{
			name:    "hard link to dot-dot",
			entries: func(e env) []entry { return []entry{hardlinkEntry("hl", "../outside-file")} },
			refused: "hl",
			check: func(t *testing.T, e env) {
				mustNotExist(t, filepath.Join(e.root, "hl"))
				checkUntouched(t, e.outsideFile)
			},
		},
		{
			name:    "hard link to absolute",
			entries: func(e env) []entry { return []entry{hardlinkEntry("hl", "/etc/passwd")} },
			refused: "hl",
			check: func(t *testing.T, e env) {
				mustNotExist(t, filepath.Join(e.root, "hl"))
				checkLinks(t, "/etc/passwd", passwdLinks)
			},
		},
		{
			name: "hard link through symlink",
			entries: func(e env) []entry {
				return []entry{symlinkEntry("etc", "/etc"), hardlinkEntry("hl", "etc/passwd")}
			},
			refused: "hl",
			check: func(t *testing.T, e env) {
				mustNotExist(t, filepath.Join(e.root, "hl"))
				checkLinks(t, "/etc/passwd", passwdLinks)
			},
		},
		{
			name: "whiteout through symlink",
			entries: func(e env) []entry {
				return []entry{symlinkEntry("link", e.outsideDir), fileEntry("link/.wh.keep", "")}
			},
			refused: "link/.wh.keep",
			check:   func(t *testing.T, e env) { checkUntouched(t, filepath.Join(e.outsideDir, "keep")) },
		},
		{
			name: "opaque whiteout through symlink",
			entries: func(e env) []entry {
				return []entry{symlinkEntry("link", e.outsideDir), fileEntry("link/.wh..wh..opq", "")}
			},
			refused: "link/.wh..wh..opq",
			check:   func(t *testing.T, e env) { checkUntouched(t, filepath.Join(e.outsideDir, "keep")) },
		},
		{
			// ".wh..." would whiteout "sub/..", which is the root.
			name: "whiteout of dot-dot",
			entries: func(e env) []entry {
				return []entry{fileEntry("mine", "x"), dirEntry("sub/"), fileEntry("sub/.wh...", "")}
			},
			refused: "sub/.wh...",
			check: func(t *testing.T, e env) {
				// The import is all or nothing: no root; and what is
				// beside it is all there.
				mustNotExist(t, e.root)
				checkUntouched(t, e.outsideFile)
				checkUntouched(t, filepath.Join(e.outsideDir, "keep"))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			e := env{base, filepath.Join(base, "root"), filepath.Join(base, "outside"), filepath.Join(base, "outside-file")}
			if err := os.Mkdir(e.outsideDir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, e.outsideFile, []byte("original"))
			writeTestFile(t, filepath.Join(e.outsideDir, "keep"), []byte("original"))
			src := filepath.Join(base, "evil.tar")
			writeTestFile(t, src, buildTar(t, c.entries(e)...))

			_, err := Import(src, e.root, ImportOptions{})
			if err == nil {
				t.Fatalf("Import succeeded; want %q refused", c.refused)
			}
			t.Logf("refused: %v", err)
			refused := strings.ReplaceAll(c.refused, "$BASE", base)
			if !strings.Contains(err.Error(), `entry "`+refused+`"`) {
				t.Errorf("error %q does not name the entry %q", err, refused)
			}
			c.check(t, e)
		})
	}
}

// checkUntouched checks a file the tests made outside the root.
func checkUntouched(t *testing.T, p string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil || string(data) != "original" {
		t.Errorf("%s was changed: %q, %v", p, data, err)
	}
	checkLinks(t, p, 1)
}

func checkLinks(t *testing.T, p string, want uint64) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Sys().(*syscall.Stat_t).Nlink; got != want {
		t.Errorf("%s has %d links, want %d: it was hard-linked from the rootfs", p, got, want)
	}
}

// A sparse file is refused, in both of GNU tar's encodings: archive/tar
// would expand its holes into real zeros, so that a 10 KB archive fills
// the disk with gigabytes (found by fuzzing the importer).
func TestImportRefusesSparseFiles(t *testing.T) {
	requireRoot(t)
	gnuTar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("GNU tar is needed to write sparse archives")
	}
	base := t.TempDir()
	holes := filepath.Join(base, "holes")
	if err := os.WriteFile(holes, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(holes, 4<<30); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"pax", "gnu"} {
		t.Run(format, func(t *testing.T) {
			archive := filepath.Join(base, format+".tar")
			out, err := exec.Command(gnuTar, "--sparse", "--format="+format, "-C", base, "-cf", archive, "holes").CombinedOutput()
			if err != nil {
				t.Fatalf("tar: %v\n%s", err, out)
			}
			if fi, err := os.Stat(archive); err != nil || fi.Size() > 1<<20 {
				t.Fatalf("the archive should be small: %v, %v", fi, err)
			}
			target := filepath.Join(base, format+"-root")
			_, err = Import(archive, target, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), "sparse") {
				t.Fatalf("Import of a sparse file: got %v, want an error about sparse files", err)
			}
			mustNotExist(t, target)
		})
	}
}
