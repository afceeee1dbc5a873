package child

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 40

// ResolveInRoot returns the host path of path as seen from inside root:
// every symlink on the way is resolved as if root were "/", and ".." never
// climbs above root. Components that do not exist are kept as they are (a
// mount target may be created next). The result is always inside root.
//
// This is what keeps a hostile or careless rootfs from pointing a mount
// at the host: with /mnt -> /etc in the rootfs, "/mnt" resolves to
// root+"/etc", not to the host's /etc.
func ResolveInRoot(root, path string) (string, error) {
	root = filepath.Clean(root)
	var resolved []string // components under root, resolved so far
	pending := splitPath(path)
	links := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(resolved) > 0 {
				resolved = resolved[:len(resolved)-1]
			}
			continue
		}
		host := filepath.Join(root, filepath.Join(resolved...), c)
		fi, err := os.Lstat(host)
		if errors.Is(err, os.ErrNotExist) {
			resolved = append(resolved, c)
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			resolved = append(resolved, c)
			continue
		}
		links++
		if links > maxSymlinks {
			return "", fmt.Errorf("resolve %s in %s: too many symlinks", path, root)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = nil // an absolute link restarts at the root
		}
		pending = append(splitPath(target), pending...)
	}
	return filepath.Join(root, filepath.Join(resolved...)), nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
