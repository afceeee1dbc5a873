package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// splitName turns an archive name into path components below the root.
// "./etc/x" and "etc/x" are the same; an absolute name or one with a
// ".." component could reach outside the root, so both are refused
// instead of being quietly rewritten.
func splitName(name string) ([]string, error) {
	if strings.HasPrefix(name, "/") {
		return nil, errors.New("absolute name; refusing to write outside the root")
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return nil, errors.New(`name has a ".." component; refusing to write outside the root`)
		default:
			parts = append(parts, p)
		}
	}
	return parts, nil
}

// resolve returns the path of parts below root after checking, one
// component at a time with Lstat, that every parent is a real directory:
// a symlink among them could point anywhere, so going through it is
// refused. With create, missing parents are made (tar archives need not
// list every directory); without, exists is false when any is missing.
func resolve(root string, parts []string, create bool) (p string, exists bool, err error) {
	p = root
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		last := i == len(parts)-1
		switch {
		case errors.Is(err, fs.ErrNotExist) && last:
			return p, false, nil
		case errors.Is(err, fs.ErrNotExist) && !create:
			return filepath.Join(root, filepath.Join(parts...)), false, nil
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil {
				return "", false, fmt.Errorf("create parent directory %s: %w", p, err)
			}
		case err != nil:
			return "", false, fmt.Errorf("check %s: %w", p, err)
		case last:
			return p, true, nil
		case fi.Mode()&fs.ModeSymlink != 0:
			return "", false, fmt.Errorf("parent %s is a symlink; refusing to go through it", p)
		case !fi.IsDir():
			return "", false, fmt.Errorf("parent %s is not a directory", p)
		}
	}
	return p, true, nil
}

// joinRel joins slash-separated relative names, "" being the root.
func joinRel(parts []string) string {
	return strings.Join(parts, "/")
}
