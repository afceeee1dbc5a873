package plan

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// namespaceMeaning says in plain words what each namespace isolates.
var namespaceMeaning = map[spec.Namespace]string{
	spec.NamespaceMount:  "a mount table of its own: mounts made inside need not show on the host",
	spec.NamespaceUTS:    "a hostname of its own",
	spec.NamespaceIPC:    "System V IPC objects and POSIX message queues of its own",
	spec.NamespaceNet:    "network interfaces, addresses and ports of its own",
	spec.NamespacePID:    "process ids of its own: the first process is PID 1 and sees only its descendants",
	spec.NamespaceUser:   "user and group ids of its own",
	spec.NamespaceCgroup: "its own cgroup appears as the root of the cgroup tree",
}

// phaseMeaning says why each phase sits where it does.
var phaseMeaning = map[spec.Phase]string{
	spec.PhasePrepare:   "before anything is mounted (a mount made before the tree is private could propagate to the host)",
	spec.PhaseMount:     "mounts, before the root switch (afterwards the host's paths are out of reach)",
	spec.PhaseRoot:      "the root switch",
	spec.PhaseConfigure: "the new environment, inside the new root",
	spec.PhaseRestrict:  "last, just before exec: what restricts the process itself",
}

// WriteText prints the plan for people: what will be cloned, what runs
// where, in order, and who asked for it. With explain, it also says in
// plain words why: what each namespace isolates, what each phase is for,
// and each step's reason.
func (p *Plan) WriteText(w io.Writer, explain bool) {
	var names []string
	for _, pl := range p.Plugins {
		names = append(names, fmt.Sprintf("%s %s (%s)", pl.Name, pl.Version, pl.Origin))
	}
	fmt.Fprintf(w, "container:   %s\n", p.ContainerID)
	fmt.Fprintf(w, "plugins:     %s\n", orNone(strings.Join(names, ", ")))
	fmt.Fprintf(w, "clone flags: %s\n", orNone(strings.Join(p.CloneFlags, " | ")))
	if explain {
		for i, ns := range p.Namespaces {
			fmt.Fprintf(w, "      %s: %s\n", p.CloneFlags[i], namespaceMeaning[ns])
		}
	}
	if p.CloneIntoCgroup != "" {
		fmt.Fprintf(w, "clone into:  cgroup %s (%s; CLONE_INTO_CGROUP)\n", p.CloneIntoCgroup, p.CgroupPlugin)
	}

	fmt.Fprintf(w, "host steps:%s\n", emptyMark(len(p.HostSteps)))
	for i, h := range p.HostSteps {
		fmt.Fprintf(w, "  %2d. [%s] %s: %s\n", i+1, h.Point, h.Plugin, DescribeHostStep(h.HostStep))
		if explain && h.Why != "" {
			fmt.Fprintf(w, "      why: %s\n", h.Why)
		}
	}
	fmt.Fprintf(w, "child steps (in the new namespaces, before the command):%s\n", emptyMark(len(p.Steps)))
	for i, s := range p.Steps {
		if explain && (i == 0 || p.Steps[i-1].Phase != s.Phase) {
			fmt.Fprintf(w, "      -- %s: %s\n", s.Phase, phaseMeaning[s.Phase])
		}
		fmt.Fprintf(w, "  %2d. [%s] %s: %s\n", i+1, s.Phase, s.Plugin, DescribeStep(s.Step))
		if explain && s.Why != "" {
			fmt.Fprintf(w, "      why: %s\n", s.Why)
		}
	}
	if p.ReapingInit {
		fmt.Fprintf(w, "spawn:       %s (crun's init stays PID 1: forwards signals, reaps orphans)\n", quoteArgs(p.Command))
	} else {
		fmt.Fprintf(w, "exec:        %s\n", quoteArgs(p.Command))
	}
	fmt.Fprintf(w, "env:         %s\n", orNone(strings.Join(p.Env, " ")))
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "warning:     %s: %s\n", warn.Plugin, warn.Message)
	}
}

// DescribeStep says what a child step does, in the words of the command
// line tool or syscall behind it.
func DescribeStep(s spec.Step) string {
	switch {
	case s.Mount != nil:
		m := s.Mount
		var b strings.Builder
		fmt.Fprintf(&b, "mount %s on %s", orNone(m.Source), m.Target)
		if m.Root != "" {
			fmt.Fprintf(&b, " in %s", m.Root)
		}
		if m.FSType != "" {
			fmt.Fprintf(&b, " type %s", m.FSType)
		}
		if len(m.Flags) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(m.Flags, ","))
		}
		if m.Data != "" {
			fmt.Fprintf(&b, " data %q", m.Data)
		}
		if m.CreateTarget {
			b.WriteString(", creating the target")
		}
		return b.String()
	case s.Sethostname != nil:
		return fmt.Sprintf("sethostname %q", s.Sethostname.Hostname)
	case s.Mkdir != nil:
		return fmt.Sprintf("mkdir -p %s (mode %04o)", s.Mkdir.Path, modeOr(s.Mkdir.Mode, 0o755))
	case s.Symlink != nil:
		return fmt.Sprintf("ln -s %s %s", s.Symlink.Target, s.Symlink.Link)
	case s.Chdir != nil:
		return fmt.Sprintf("chdir %s", s.Chdir.Path)
	case s.Chroot != nil:
		return fmt.Sprintf("chroot %s; chdir /", s.Chroot.Path)
	case s.PivotRoot != nil:
		return fmt.Sprintf("pivot_root %s, then detach the old root", s.PivotRoot.Path)
	case s.JoinCgroup != nil:
		return fmt.Sprintf("join the cgroup %s (write 0 to its tasks file)", s.JoinCgroup.Path)
	case s.CopyFile != nil:
		in := ""
		if s.CopyFile.Root != "" {
			in = " in " + s.CopyFile.Root
		}
		return fmt.Sprintf("copy %s to %s%s (mode %04o)", s.CopyFile.Source, s.CopyFile.Target, in, s.CopyFile.Mode)
	case s.Mask != nil:
		if s.Mask.ReadOnly {
			return fmt.Sprintf("make %s read-only, if it exists", s.Mask.Path)
		}
		return fmt.Sprintf("hide %s, if it exists (a file under /dev/null, a directory under an empty tmpfs)", s.Mask.Path)
	case s.Rlimit != nil:
		return fmt.Sprintf("setrlimit %s %s:%s", s.Rlimit.Resource, limit(s.Rlimit.Soft), limit(s.Rlimit.Hard))
	case s.SetUser != nil:
		u := s.SetUser
		groups := "none"
		if len(u.Groups) > 0 {
			groups = strings.Trim(fmt.Sprint(u.Groups), "[]")
		}
		if u.KeepGroups {
			groups = "kept"
		}
		return fmt.Sprintf("run as uid %d, gid %d, supplementary groups %s", u.UID, u.GID, groups)
	case s.Capabilities != nil:
		c := s.Capabilities
		desc := fmt.Sprintf("capabilities: bounding %s; effective %s; permitted %s", capList(c.Bounding), capList(c.Effective), capList(c.Permitted))
		if len(c.Inheritable) > 0 {
			desc += "; inheritable " + capList(c.Inheritable)
		}
		if len(c.Ambient) > 0 {
			desc += "; ambient " + capList(c.Ambient)
		}
		return desc
	case s.NoNewPrivs != nil:
		return "set no_new_privs"
	case s.Seccomp != nil:
		names := 0
		for _, r := range s.Seccomp.Syscalls {
			names += len(r.Names)
		}
		return fmt.Sprintf("load a seccomp filter: %s by default, %d rules naming %d system calls", s.Seccomp.DefaultAction, len(s.Seccomp.Syscalls), names)
	}
	return "(unknown step)"
}

// limit prints a resource limit, "unlimited" for RLIM_INFINITY.
func limit(v uint64) string {
	if v == ^uint64(0) {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// capList prints a capability set as names without their CAP_ prefix.
func capList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	short := make([]string, len(names))
	for i, n := range names {
		short[i] = strings.TrimPrefix(strings.ToUpper(n), "CAP_")
	}
	return strings.Join(short, ",")
}

// DescribeHostStep says what a host step does.
func DescribeHostStep(h spec.HostStep) string {
	switch {
	case h.Mkdir != nil:
		return fmt.Sprintf("mkdir -p %s", h.Mkdir.Path)
	case h.WriteFile != nil:
		if h.WriteFile.IfExists {
			return fmt.Sprintf("write %q to %s, if it exists", h.WriteFile.Content, h.WriteFile.Path)
		}
		return fmt.Sprintf("write %q to %s", h.WriteFile.Content, h.WriteFile.Path)
	case h.KillCgroup != nil:
		return fmt.Sprintf("kill every process left in the cgroup %s", h.KillCgroup.Path)
	case h.Report != nil:
		key := ""
		if h.Report.Key != "" {
			key = " " + h.Report.Key
		}
		return fmt.Sprintf("report %q: %s%s", h.Report.Label, h.Report.Path, key)
	case h.WritePid != nil:
		return fmt.Sprintf("write the container's pid to %s", h.WritePid.Path)
	case h.RemoveDir != nil:
		return fmt.Sprintf("rmdir %s", h.RemoveDir.Path)
	case h.Hook != nil:
		if h.Hook.Name != "" {
			return fmt.Sprintf("call the plugin's live hook %q", h.Hook.Name)
		}
		return "call the plugin's live hook"
	case h.IDMap != nil:
		desc := fmt.Sprintf("map uids %s and gids %s (container:host:count)", spec.FormatIDRanges(h.IDMap.UIDs), spec.FormatIDRanges(h.IDMap.GIDs))
		if h.IDMap.DenySetgroups {
			desc = "deny setgroups, " + desc
		}
		return desc
	}
	return "(unknown host step)"
}

func modeOr(m, def uint32) uint32 {
	if m == 0 {
		return def
	}
	return m
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func emptyMark(n int) string {
	if n == 0 {
		return " none"
	}
	return ""
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}();&|<>#~") {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}
