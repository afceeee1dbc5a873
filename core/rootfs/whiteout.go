package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OCI whiteouts: "DIR/.wh.NAME" removes DIR/NAME left by lower layers;
// "DIR/.wh..wh..opq" removes everything lower layers left in DIR. The
// whiteout files themselves are markers and are not written.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

func (a *applier) whiteout(parts []string) error {
	dir, base := parts[:len(parts)-1], parts[len(parts)-1]
	if base == opaqueWhiteout {
		a.report.Whiteouts++
		// The directory is part of this layer's result even when the
		// layer has no entry for it, so make it like any parent.
		p, _, err := resolve(a.root, parts, true)
		if err != nil {
			return err
		}
		a.markKept(dir)
		return a.removeLowerChildren(filepath.Dir(p), joinRel(dir))
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if strings.HasPrefix(name, whiteoutPrefix) {
		return nil // other AUFS metadata (".wh..wh.plnk"), meaningless here
	}
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid whiteout %q", base)
	}
	a.report.Whiteouts++
	target := append(dir[:len(dir):len(dir)], name)
	p, exists, err := resolve(a.root, target, false)
	if err != nil || !exists {
		return err
	}
	return a.removeLower(p, joinRel(target))
}

// removeLower removes what lower layers left at p (rel below the root):
// all of it if this layer wrote nothing there, otherwise, for a
// directory, the lower parts of its contents.
func (a *applier) removeLower(p, rel string) error {
	if !a.keep[rel] {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		a.forgetDirTimes(p)
		return nil
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("check %s: %w", p, err)
	}
	if !fi.IsDir() {
		return nil
	}
	return a.removeLowerChildren(p, rel)
}

func (a *applier) removeLowerChildren(dir, rel string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read directory %s: %w", dir, err)
	}
	for _, e := range entries {
		childRel := e.Name()
		if rel != "" {
			childRel = rel + "/" + e.Name()
		}
		if err := a.removeLower(filepath.Join(dir, e.Name()), childRel); err != nil {
			return err
		}
	}
	return nil
}
