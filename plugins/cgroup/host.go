package cgroup

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// host is what the plugin found out about the machine's cgroups.
type host struct {
	root    string
	version int
	// controllers available: on v2 the root's cgroup.controllers, on v1
	// the hierarchies mounted under root.
	controllers map[string]bool
	// inputs are the host paths this was found from.
	inputs []string
}

// detect finds the cgroup layout under root: v2 when root itself is a
// cgroup2 file system; v1 (or hybrid, with an empty cgroup2 beside the v1
// controllers) otherwise. version "1" or "2" forces the layout.
func detect(root, version string) (host, error) {
	h := host{root: path.Clean(root), controllers: map[string]bool{}}
	h.inputs = []string{h.root}
	switch version {
	case "", "auto":
		var st unix.Statfs_t
		if err := unix.Statfs(h.root, &st); err != nil {
			return h, fmt.Errorf("no cgroup file system at %s: %w", h.root, err)
		}
		h.version = 1
		if st.Type == unix.CGROUP2_SUPER_MAGIC {
			h.version = 2
		}
	case "1":
		h.version = 1
	case "2":
		h.version = 2
	default:
		return h, fmt.Errorf("version %q: want auto, 1 or 2", version)
	}
	if h.version == 2 {
		h.inputs = append(h.inputs, path.Join(h.root, "cgroup.controllers"))
		b, err := os.ReadFile(path.Join(h.root, "cgroup.controllers"))
		if err != nil {
			return h, fmt.Errorf("cgroup v2 at %s: %w", h.root, err)
		}
		for _, c := range strings.Fields(string(b)) {
			h.controllers[c] = true
		}
		return h, nil
	}
	entries, err := os.ReadDir(h.root)
	if err != nil {
		return h, fmt.Errorf("cgroup v1 at %s: %w", h.root, err)
	}
	for _, e := range entries {
		if _, err := os.Stat(path.Join(h.root, e.Name(), "cgroup.procs")); err == nil {
			h.controllers[e.Name()] = true
			h.inputs = append(h.inputs, path.Join(h.root, e.Name()))
		}
	}
	return h, nil
}

// need checks that a controller is there, with an error that names it.
func (h host) need(controller, forWhat string) error {
	if h.controllers[controller] {
		return nil
	}
	if h.version == 2 {
		return fmt.Errorf("%s needs the %s controller, which the cgroup v2 hierarchy at %s does not offer (cgroup.controllers: %s)",
			forWhat, controller, h.root, h.list())
	}
	return fmt.Errorf("%s needs the %s controller, which is not mounted under %s (found: %s)",
		forWhat, controller, h.root, h.list())
}

func (h host) list() string {
	var l []string
	for c := range h.controllers {
		l = append(l, c)
	}
	if len(l) == 0 {
		return "none"
	}
	sort.Strings(l)
	return strings.Join(l, " ")
}
