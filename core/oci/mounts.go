package oci

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// chrootMounts are the mounts the chroot plugin always makes, with its
// options: a config.json that lists one gets chroot's, so it is accepted
// when it asks for no option chroot's lacks.
var chrootMounts = map[string]struct {
	fsType  string
	options []string
}{
	"/proc":    {"proc", []string{"nosuid", "nodev", "noexec"}},
	"/dev":     {"tmpfs", []string{"nosuid", "strictatime", "nodev", "mode=755", "size=65536k"}},
	"/dev/pts": {"devpts", []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
	"/dev/shm": {"tmpfs", []string{"nosuid", "nodev", "noexec", "mode=1777", "size=65536k"}},
}

// bindOptions are the options of a bind mount the chroot plugin's bind
// option gives: it binds recursively, private (the mnt plugin's
// propagation), nodev unless it is a device (chroot.nodev).
var bindOptions = []string{"bind", "rbind", "ro", "rw", "nodev", "private", "rprivate"}

// tmpfsFlags are the mount flags the chroot plugin's tmpfs option takes;
// tmpfsData the tmpfs options, KEY=VALUE, passed to the kernel.
var (
	tmpfsFlags = []string{"rw", "ro", "nosuid", "nodev", "noexec", "relatime", "strictatime", "noatime"}
	tmpfsData  = []string{"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"}
)

// mounts: the chroot plugin's own mounts, its binds and its tmpfs mounts.
// It makes tmpfs mounts before binds, so a tmpfs listed inside an
// earlier bind would end up under it, and is refused.
func mounts(c *compiler) error {
	var binds []string
	for i, m := range c.spec.Mounts {
		field := fmt.Sprintf("mounts[%d] (%s)", i, m.Destination)
		if !path.IsAbs(m.Destination) {
			return fmt.Errorf("%s: want an absolute destination", field)
		}
		if len(m.UIDMappings)+len(m.GIDMappings) > 0 {
			return fmt.Errorf("%s: id-mapped mounts are not implemented yet", field)
		}
		dest := path.Clean(m.Destination)
		if strings.Contains(dest, ":") {
			return fmt.Errorf("%s: the chroot plugin takes no ':' in a mount's path", field)
		}
		isBind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		switch std, ok := chrootMounts[dest]; {
		case ok && !isBind:
			if m.Type != std.fsType {
				return fmt.Errorf("%s: the chroot plugin mounts %s there, not %s", field, std.fsType, m.Type)
			}
			for _, o := range m.Options {
				if !slices.Contains(std.options, o) {
					return fmt.Errorf("%s: option %s: the chroot plugin mounts %s %s with %s only", field, o, m.Type, dest, strings.Join(std.options, ","))
				}
			}
		case isBind:
			if m.Type != "" && m.Type != "bind" && m.Type != "none" {
				return fmt.Errorf("%s: a bind mount of type %s", field, m.Type)
			}
			src := m.Source
			if src == "" {
				return fmt.Errorf("%s: a bind mount needs a source", field)
			}
			if !filepath.IsAbs(src) {
				src = filepath.Join(c.bundle, src)
			}
			if strings.Contains(src, ":") {
				return fmt.Errorf("%s: the chroot plugin takes no ':' in a mount's path", field)
			}
			value := src + ":" + dest
			for _, o := range m.Options {
				switch {
				case !slices.Contains(bindOptions, o):
					return fmt.Errorf("%s: option %s: the chroot plugin's binds take %s only", field, o, strings.Join(bindOptions, ","))
				case o == "ro":
					value = src + ":" + dest + ":ro"
				}
			}
			c.enable("chroot")
			c.option("chroot", "bind", value, field)
			binds = append(binds, dest)
		case m.Type == "tmpfs":
			for _, b := range binds {
				if dest == b || strings.HasPrefix(dest, b+"/") {
					return fmt.Errorf("%s: the chroot plugin mounts tmpfs before binds, and the bind on %s would hide it", field, b)
				}
			}
			var opts []string
			for _, o := range m.Options {
				key, _, _ := strings.Cut(o, "=")
				switch {
				case o == "rw": // the default
				case slices.Contains(tmpfsFlags, o), strings.Contains(o, "=") && slices.Contains(tmpfsData, key):
					opts = append(opts, o)
				default:
					return fmt.Errorf("%s: option %s: the chroot plugin's tmpfs takes %s and %s=... only", field, o,
						strings.Join(tmpfsFlags, ","), strings.Join(tmpfsData, "=...,"))
				}
			}
			value := dest
			if len(opts) > 0 {
				value += ":" + strings.Join(opts, ",")
			}
			c.enable("chroot")
			c.option("chroot", "tmpfs", value, field)
		default:
			return fmt.Errorf("%s: crun has no plugin for a mount of type %q there yet (it makes /proc, /dev, /dev/pts and /dev/shm itself, binds and tmpfs)", field, m.Type)
		}
	}
	return nil
}
