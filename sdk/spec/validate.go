package spec

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// mountFlagNames lists the mount flag names a Mount step may use.
var mountFlagNames = []string{
	"ro", "nosuid", "nodev", "noexec", "bind", "rec", "private", "slave",
	"shared", "unbindable", "remount", "relatime", "strictatime", "noatime",
}

// Action names the single action a step carries ("mount", "sethostname",
// ...), or returns an error when it carries none or several.
func (s Step) Action() (string, error) {
	return oneAction(map[string]bool{
		"mount":       s.Mount != nil,
		"sethostname": s.Sethostname != nil,
		"mkdir":       s.Mkdir != nil,
		"symlink":     s.Symlink != nil,
		"chdir":       s.Chdir != nil,
		"chroot":      s.Chroot != nil,
		"pivot_root":  s.PivotRoot != nil,
		"copy_file":   s.CopyFile != nil,
		"join_cgroup": s.JoinCgroup != nil,

		"mask":         s.Mask != nil,
		"rlimit":       s.Rlimit != nil,
		"set_user":     s.SetUser != nil,
		"capabilities": s.Capabilities != nil,
		"no_new_privs": s.NoNewPrivs != nil,
		"seccomp":      s.Seccomp != nil,
	})
}

// rlimitNames are the resources a Rlimit step may name (setrlimit(2)).
var rlimitNames = []string{
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
	"RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
	"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
	"RLIMIT_RTPRIO", "RLIMIT_RTTIME",
}

// RlimitName returns the canonical name (RLIMIT_NOFILE) of a resource
// named with or without its RLIMIT_ prefix, in any case.
func RlimitName(name string) (string, error) {
	want := strings.ToUpper(name)
	if !strings.HasPrefix(want, "RLIMIT_") {
		want = "RLIMIT_" + want
	}
	if !contains(rlimitNames, want) {
		return "", fmt.Errorf("unknown resource %q (known: %s)", name, strings.Join(rlimitNames, ", "))
	}
	return want, nil
}

// Action names the single action a host step carries.
func (h HostStep) Action() (string, error) {
	return oneAction(map[string]bool{
		"mkdir":       h.Mkdir != nil,
		"write_file":  h.WriteFile != nil,
		"write_pid":   h.WritePid != nil,
		"remove_dir":  h.RemoveDir != nil,
		"kill_cgroup": h.KillCgroup != nil,
		"report":      h.Report != nil,
		"hook":        h.Hook != nil,
		"id_map":      h.IDMap != nil,
	})
}

func oneAction(set map[string]bool) (string, error) {
	var found []string
	for name, ok := range set {
		if ok {
			found = append(found, name)
		}
	}
	sort.Strings(found)
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("no action crun knows (a step kind from a newer protocol?)")
	default:
		return "", fmt.Errorf("several actions in one step (%s)", strings.Join(found, ", "))
	}
}

// ImpliedNamespaces returns the namespaces a step needs whatever it
// declares: without them the action would change the host itself.
func (s Step) ImpliedNamespaces() []Namespace {
	switch {
	case s.Sethostname != nil:
		return []Namespace{NamespaceUTS}
	case s.PivotRoot != nil, s.Mask != nil:
		return []Namespace{NamespaceMount}
	}
	return nil
}

// Validate checks a step on its own: one known action, a known phase,
// known namespaces and mount flags, absolute paths.
func (s Step) Validate() error {
	action, err := s.Action()
	if err != nil {
		return err
	}
	if !knownPhase(s.Phase) {
		return fmt.Errorf("%s: unknown phase %q (want one of %s)", action, s.Phase, joinPhases())
	}
	for _, ns := range s.Requires {
		if !KnownNamespace(ns) {
			return fmt.Errorf("%s: requires unknown namespace %q", action, ns)
		}
	}
	switch {
	case s.Mount != nil:
		if err := absolute("mount target", s.Mount.Target); err != nil {
			return err
		}
		if s.Mount.Root != "" {
			if err := absolute("mount root", s.Mount.Root); err != nil {
				return err
			}
		}
		for _, f := range s.Mount.Flags {
			if !contains(mountFlagNames, f) {
				return fmt.Errorf("mount %s: unknown flag %q (known: %s)", s.Mount.Target, f, strings.Join(mountFlagNames, ","))
			}
		}
	case s.Sethostname != nil:
		if h := s.Sethostname.Hostname; h == "" || len(h) > 64 {
			return fmt.Errorf("sethostname: hostname %q must be 1 to 64 bytes", h)
		}
	case s.Mkdir != nil:
		return absolute("mkdir", s.Mkdir.Path)
	case s.Symlink != nil:
		if s.Symlink.Target == "" {
			return fmt.Errorf("symlink %s: empty target", s.Symlink.Link)
		}
		return absolute("symlink", s.Symlink.Link)
	case s.Chdir != nil:
		return absolute("chdir", s.Chdir.Path)
	case s.Chroot != nil:
		return absolute("chroot", s.Chroot.Path)
	case s.PivotRoot != nil:
		return absolute("pivot_root", s.PivotRoot.Path)
	case s.JoinCgroup != nil:
		return absolute("join_cgroup", s.JoinCgroup.Path)
	case s.Mask != nil:
		return absolute("mask", s.Mask.Path)
	case s.Rlimit != nil:
		if _, err := RlimitName(s.Rlimit.Resource); err != nil {
			return fmt.Errorf("rlimit: %w", err)
		}
		if s.Rlimit.Soft > s.Rlimit.Hard {
			return fmt.Errorf("rlimit %s: soft limit %d above the hard limit %d", s.Rlimit.Resource, s.Rlimit.Soft, s.Rlimit.Hard)
		}
	case s.SetUser != nil:
		if s.SetUser.KeepGroups && len(s.SetUser.Groups) > 0 {
			return fmt.Errorf("set_user: keep_groups with groups %v: choose one", s.SetUser.Groups)
		}
	case s.Capabilities != nil:
		c := s.Capabilities
		for _, set := range []struct {
			name  string
			names []string
		}{{"bounding", c.Bounding}, {"effective", c.Effective}, {"permitted", c.Permitted},
			{"inheritable", c.Inheritable}, {"ambient", c.Ambient}} {
			if err := checkCapabilities(set.name, set.names); err != nil {
				return err
			}
		}
	case s.Seccomp != nil:
		if s.Seccomp.DefaultAction == "" {
			return fmt.Errorf("seccomp: no default action")
		}
		for i, r := range s.Seccomp.Syscalls {
			if len(r.Names) == 0 || r.Action == "" {
				return fmt.Errorf("seccomp rule %d: names and an action are needed", i+1)
			}
		}
	case s.CopyFile != nil:
		if err := absolute("copy_file source", s.CopyFile.Source); err != nil {
			return err
		}
		if s.CopyFile.Root != "" {
			if err := absolute("copy_file root", s.CopyFile.Root); err != nil {
				return err
			}
		}
		if s.CopyFile.Mode > 0o7777 {
			return fmt.Errorf("copy_file %s: mode %o is not a file mode", s.CopyFile.Target, s.CopyFile.Mode)
		}
		return absolute("copy_file target", s.CopyFile.Target)
	}
	return nil
}

// Validate checks a host step on its own.
func (h HostStep) Validate() error {
	action, err := h.Action()
	if err != nil {
		return err
	}
	if !contains(hookPoints, h.Point) {
		return fmt.Errorf("%s: unknown point %q (want before-clone, after-clone or after-exit)", action, h.Point)
	}
	switch {
	case h.Mkdir != nil:
		return absolute("mkdir", h.Mkdir.Path)
	case h.WriteFile != nil:
		return absolute("write_file", h.WriteFile.Path)
	case h.WritePid != nil:
		if h.Point != HookAfterClone {
			return fmt.Errorf("write_pid %s: only possible at after-clone, when the child exists", h.WritePid.Path)
		}
		return absolute("write_pid", h.WritePid.Path)
	case h.RemoveDir != nil:
		return absolute("remove_dir", h.RemoveDir.Path)
	case h.KillCgroup != nil:
		return absolute("kill_cgroup", h.KillCgroup.Path)
	case h.Report != nil:
		switch h.Report.Unit {
		case "", "bytes", "ns", "us":
		default:
			return fmt.Errorf("report %s: unknown unit %q (bytes, ns, us)", h.Report.Path, h.Report.Unit)
		}
		return absolute("report", h.Report.Path)
	case h.IDMap != nil:
		if h.Point != HookAfterClone {
			return fmt.Errorf("id_map: only possible at after-clone, while the child waits in its user namespace")
		}
		if err := checkIDRanges("uid", h.IDMap.UIDs); err != nil {
			return fmt.Errorf("id_map: %w", err)
		}
		if err := checkIDRanges("gid", h.IDMap.GIDs); err != nil {
			return fmt.Errorf("id_map: %w", err)
		}
	}
	return nil
}

// maxIDRanges is how many lines the kernel takes in an id map (Linux
// 4.15 and later).
const maxIDRanges = 340

// checkIDRanges checks the ranges of one id map as the kernel will:
// at least one, none empty, none overflowing, no two overlapping on
// either side.
func checkIDRanges(what string, ranges []IDRange) error {
	switch {
	case len(ranges) == 0:
		return fmt.Errorf("no %s range: a user namespace without one can create no file", what)
	case len(ranges) > maxIDRanges:
		return fmt.Errorf("%d %s ranges, the kernel takes at most %d", len(ranges), what, maxIDRanges)
	}
	end := func(start, size uint32) uint64 { return uint64(start) + uint64(size) }
	for i, r := range ranges {
		if r.Size == 0 {
			return fmt.Errorf("%s range %s is empty", what, r)
		}
		if end(r.Container, r.Size) > 1<<32-1 || end(r.Host, r.Size) > 1<<32-1 {
			return fmt.Errorf("%s range %s goes past the last id (4294967294)", what, r)
		}
		for _, o := range ranges[:i] {
			if uint64(r.Container) < end(o.Container, o.Size) && uint64(o.Container) < end(r.Container, r.Size) {
				return fmt.Errorf("%s ranges %s and %s overlap in the container", what, o, r)
			}
			if uint64(r.Host) < end(o.Host, o.Size) && uint64(o.Host) < end(r.Host, r.Size) {
				return fmt.Errorf("%s ranges %s and %s overlap on the host", what, o, r)
			}
		}
	}
	return nil
}

// Validate checks a contribution on its own (cross-plugin checks, such as
// a step requiring a namespace nobody enabled, are the core's).
func (c Contribution) Validate() error {
	for _, ns := range c.Namespaces {
		if !KnownNamespace(ns) {
			return fmt.Errorf("unknown namespace %q (known: %s)", ns, joinNamespaces())
		}
	}
	for i, s := range c.Steps {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	for i, h := range c.HostSteps {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("host step %d: %w", i+1, err)
		}
	}
	if c.CloneIntoCgroup != "" {
		if err := absolute("clone_into_cgroup", c.CloneIntoCgroup); err != nil {
			return err
		}
	}
	for _, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("env %q: want KEY=VALUE", kv)
		}
	}
	return nil
}

// Validate checks a description: a usable name and well-formed options.
func (d Description) Validate() error {
	if err := ValidName(d.Name); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range d.Options {
		if o.Name == "" || strings.ContainsAny(o.Name, "=. \t") || strings.Contains(o.Name, "*") && o.Name != AnyKey {
			return fmt.Errorf("option %q: a name must be non-empty, without '=', '.', '*' or spaces (or be %q)", o.Name, AnyKey)
		}
		if seen[o.Name] {
			return fmt.Errorf("option %q declared twice", o.Name)
		}
		seen[o.Name] = true
		if !contains([]OptionType{TypeString, TypeBool, TypeInt, TypeFloat, TypeSize}, o.Type) {
			return fmt.Errorf("option %q: unknown type %q", o.Name, o.Type)
		}
		if o.Default != "" {
			if err := CheckValue(o.Type, o.Default); err != nil {
				return fmt.Errorf("option %q: default: %w", o.Name, err)
			}
		}
	}
	for _, p := range d.Hooks {
		if !contains(hookPoints, p) {
			return fmt.Errorf("hook point %q unknown", p)
		}
	}
	return nil
}

// ValidName checks a plugin name: lower-case letters, digits, '-' and '_',
// starting with a letter.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("empty plugin name")
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_')
		if !ok {
			return fmt.Errorf("plugin name %q: use lower-case letters, digits, '-' and '_', starting with a letter", name)
		}
	}
	return nil
}

// KnownNamespace reports whether crun knows the namespace.
func KnownNamespace(ns Namespace) bool { return contains(namespaces, ns) }

func knownPhase(p Phase) bool { return contains(phases, p) }

func absolute(what, p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("%s: path %q is not absolute", what, p)
	}
	if path.Clean(p) != p {
		// What a plan shows must be what it does: no "..", no "//".
		return fmt.Errorf("%s: path %q is not clean (write %q)", what, p, path.Clean(p))
	}
	return nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinPhases() string {
	var s []string
	for _, p := range phases {
		s = append(s, string(p))
	}
	return strings.Join(s, ", ")
}

func joinNamespaces() string {
	var s []string
	for _, n := range namespaces {
		s = append(s, string(n))
	}
	return strings.Join(s, ", ")
}
