// Package probe finds out what a process shares with the host: crun
// probe runs it once in crun itself, on the host, and once as the
// container's command, and lays the two side by side (what
// genuinetools/amicontained shows from inside, with the host beside it).
//
// Facts are what the calling process sees of itself, read from /proc and
// the file system as the kernel reports them; Compare turns two of them
// into rows, one per dimension of isolation, with the plugin that
// isolates it. Nothing here depends on the container's root file system:
// the probe is crun's own binary, executed by fd.
package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// Namespaces are the namespace kinds the probe compares, as /proc/PID/ns
// names them.
var Namespaces = []string{"mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"}

// Facts are what a process sees of itself.
type Facts struct {
	// Namespaces maps a kind to the namespace, as readlink
	// /proc/self/ns/KIND says ("uts:[4026531838]"), or "" where the
	// kernel has none.
	Namespaces map[string]string `json:"namespaces"`
	Hostname   string            `json:"hostname"`
	// PID is the process's own pid in its PID namespace; Init is the
	// name of PID 1 there (/proc/1/comm).
	PID  int    `json:"pid"`
	Init string `json:"init"`
	// Root identifies the root directory (device:inode).
	Root string `json:"root"`
	// Mounts and Processes count what /proc shows: mountinfo lines, and
	// processes.
	Mounts    int `json:"mounts"`
	Processes int `json:"processes"`
	// UIDMap and GIDMap are /proc/self/uid_map and gid_map, one line
	// per range, spaces squeezed.
	UIDMap []string `json:"uid_map"`
	GIDMap []string `json:"gid_map"`
	// Effective and Bounding capabilities, as bit masks.
	Effective uint64 `json:"cap_effective"`
	Bounding  uint64 `json:"cap_bounding"`
	// NoNewPrivs and Seccomp are /proc/self/status's fields (Seccomp: 0
	// none, 1 strict, 2 filter).
	NoNewPrivs int `json:"no_new_privs"`
	Seccomp    int `json:"seccomp"`
	// Cgroups is /proc/self/cgroup: controller list -> path.
	Cgroups map[string]string `json:"cgroups"`
	// FDs are the open fds beyond 0, 1 and 2 (the probe's own excepted).
	FDs []int `json:"fds"`
	// ProcSys says whether /proc/sys/kernel/core_pattern opens for
	// writing ("writable", or why not).
	ProcSys string `json:"proc_sys"`
	// Device says whether a device of the host (the kernel's log, char
	// 1:11) opens for reading: "readable (PATH)", or why not.
	Device string `json:"device"`
}

// Collect reads the facts of the calling process. To see whether a host
// device opens, it may make a device node in /dev or /tmp, and removes it
// at once.
func Collect() Facts {
	f := Facts{Namespaces: map[string]string{}, Cgroups: map[string]string{}, FDs: openFDs()}
	for _, ns := range Namespaces {
		f.Namespaces[ns], _ = os.Readlink("/proc/self/ns/" + ns)
	}
	f.Hostname, _ = os.Hostname()
	f.PID = os.Getpid()
	if b, err := os.ReadFile("/proc/1/comm"); err == nil {
		f.Init = strings.TrimSpace(string(b))
	}
	var st unix.Stat_t
	if unix.Stat("/", &st) == nil {
		f.Root = fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.Mounts = strings.Count(string(b), "\n")
	}
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				f.Processes++
			}
		}
	}
	f.UIDMap, f.GIDMap = idMap("/proc/self/uid_map"), idMap("/proc/self/gid_map")
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "CapEff":
				f.Effective, _ = strconv.ParseUint(v, 16, 64)
			case "CapBnd":
				f.Bounding, _ = strconv.ParseUint(v, 16, 64)
			case "NoNewPrivs":
				f.NoNewPrivs, _ = strconv.Atoi(v)
			case "Seccomp":
				f.Seccomp, _ = strconv.Atoi(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			// ID:CONTROLLERS:PATH; cgroup v2's controllers are "".
			parts := strings.SplitN(l, ":", 3)
			if len(parts) == 3 {
				f.Cgroups[parts[1]] = parts[2]
			}
		}
	}
	f.ProcSys = tryOpen("/proc/sys/kernel/core_pattern", unix.O_WRONLY, "writable")
	f.Device = tryDevice()
	return f
}

// idMap reads an id map, a line per range with its spaces squeezed.
func idMap(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

// openFDs lists the fds beyond 2, but the one reading the list. It uses
// raw system calls: it runs first, before the Go runtime opens fds of its
// own (its poller's) for the first file the probe opens.
func openFDs() []int {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var fds []int
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd > 2 && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
	slices.Sort(fds)
	return fds
}

// tryOpen opens path with flags and closes it at once: ok, or why not.
func tryOpen(path string, flags int, ok string) string {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return "no: " + errText(err)
	}
	unix.Close(fd)
	return ok
}

// tryDevice tries to open the kernel's log for reading: /dev/kmsg where
// there is one, else a node made for the purpose (and removed).
func tryDevice() string {
	if _, err := os.Stat("/dev/kmsg"); err == nil {
		return tryOpen("/dev/kmsg", unix.O_RDONLY, "readable (/dev/kmsg)")
	}
	var why []string
	for _, dir := range []string{"/dev", "/tmp"} {
		node := filepath.Join(dir, fmt.Sprintf(".crun-probe-%d", os.Getpid()))
		if err := unix.Mknod(node, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 11))); err != nil {
			why = append(why, "mknod in "+dir+": "+errText(err))
			continue
		}
		got := tryOpen(node, unix.O_RDONLY, "readable (a node made in "+dir+")")
		os.Remove(node)
		if strings.HasPrefix(got, "no: ") {
			got = "no: made in " + dir + ", but " + strings.TrimPrefix(got, "no: ")
		}
		return got
	}
	return "no: " + strings.Join(why, "; ")
}

func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// Row is one dimension of isolation, seen from the host and from the
// container.
type Row struct {
	What      string `json:"what"`
	Host      string `json:"host"`
	Container string `json:"container"`
	// Verdict: isolated, shared, restricted, limited, closed, same...
	Verdict string `json:"verdict"`
	// Plugin is the plugin that isolates or restricts this.
	Plugin string `json:"plugin"`
}

// namespacePlugin names the plugin that gives each namespace.
var namespacePlugin = map[string]string{
	"mnt": "mnt", "uts": "uts", "ipc": "ipc (plugin-examples)", "net": "net (plugin-examples)",
	"pid": "pid", "user": "user", "cgroup": "(none yet)", "time": "(none yet)",
}

// Compare lays host and container facts side by side. limits are the
// cgroup limits of each (see Limits).
func Compare(host, ctr Facts, hostLimits, ctrLimits map[string]string) []Row {
	var rows []Row
	add := func(what, h, c, verdict, plugin string) {
		rows = append(rows, Row{What: what, Host: h, Container: c, Verdict: verdict, Plugin: plugin})
	}
	same := func(h, c, differ, equal string) string {
		if h == c {
			return equal
		}
		return differ
	}
	for _, ns := range Namespaces {
		h, c := host.Namespaces[ns], ctr.Namespaces[ns]
		if h == "" && c == "" {
			add("namespace "+ns, "(not in this kernel)", "", "", namespacePlugin[ns])
			continue
		}
		add("namespace "+ns, h, c, same(h, c, "isolated", "shared"), namespacePlugin[ns])
	}
	add("hostname", host.Hostname, ctr.Hostname, same(host.Hostname, ctr.Hostname, "isolated", "same"), "uts")
	add("PID 1", host.Init, fmt.Sprintf("%s (the probe is PID %d)", ctr.Init, ctr.PID),
		same(host.Namespaces["pid"], ctr.Namespaces["pid"], "isolated", "shared"), "pid")
	add("root directory", host.Root, ctr.Root, same(host.Root, ctr.Root, "isolated", "shared"), "chroot")
	add("mounts visible", strconv.Itoa(host.Mounts), strconv.Itoa(ctr.Mounts),
		count(host.Mounts, ctr.Mounts), "mnt, chroot")
	add("processes visible", strconv.Itoa(host.Processes), strconv.Itoa(ctr.Processes),
		count(host.Processes, ctr.Processes), "pid (with mnt or chroot: a /proc of its own)")
	h, c := strings.Join(host.UIDMap, ", "), strings.Join(ctr.UIDMap, ", ")
	add("uid map (inside outside count)", h, c, same(h, c, "isolated", "shared"), "user")
	h, c = strings.Join(host.GIDMap, ", "), strings.Join(ctr.GIDMap, ", ")
	add("gid map (inside outside count)", h, c, same(h, c, "isolated", "shared"), "user")
	add("capabilities, effective", capText(host.Effective, host.Bounding), capText(ctr.Effective, host.Bounding),
		restricted(host.Effective, ctr.Effective), "caps")
	add("capabilities, bounding", capText(host.Bounding, host.Bounding), capText(ctr.Bounding, host.Bounding),
		restricted(host.Bounding, ctr.Bounding), "caps")
	add("no_new_privs", strconv.Itoa(host.NoNewPrivs), strconv.Itoa(ctr.NoNewPrivs),
		same(strconv.Itoa(host.NoNewPrivs), strconv.Itoa(ctr.NoNewPrivs), "restricted", "same"), "nnp")
	add("seccomp", seccompText(host.Seccomp), seccompText(ctr.Seccomp),
		same(strconv.Itoa(host.Seccomp), strconv.Itoa(ctr.Seccomp), "filtered", "same"), "seccomp")
	for _, l := range limitNames {
		h, c := hostLimits[l], ctrLimits[l]
		add("cgroup "+l, orNone(h), orNone(c), same(h, c, "limited", "same"), "cgroup")
	}
	fds := "none"
	if len(ctr.FDs) > 0 {
		fds = strings.Trim(fmt.Sprint(ctr.FDs), "[]")
	}
	add("fds beyond 0-2", "(crun's own)", fds, same(fds, "none", "open", "closed"), "crun (--preserve-fds)")
	add("/proc/sys", host.ProcSys, ctr.ProcSys, same(host.ProcSys, ctr.ProcSys, "restricted", "same"), "mask")
	add("a host device (kernel log)", host.Device, ctr.Device, same(deviceOpens(host.Device), deviceOpens(ctr.Device), "restricted", "same"),
		"caps (mknod), chroot (nodev)")
	return rows
}

func count(h, c int) string {
	if c < h {
		return "fewer"
	}
	return "same or more"
}

func restricted(h, c uint64) string {
	switch {
	case h == c:
		return "same"
	case c&^h == 0:
		return "restricted"
	}
	return "different"
}

func deviceOpens(s string) string { return strconv.FormatBool(strings.HasPrefix(s, "readable")) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// capText writes a capability set: "all" (every capability the host's
// bounding set has), "none", or the names.
func capText(set, all uint64) string {
	switch {
	case set == 0:
		return "none"
	case set == all:
		return fmt.Sprintf("all %d", popcount(set))
	}
	var names []string
	for i := 0; i < 64; i++ {
		if name := spec.CapabilityName(i); set&(1<<i) != 0 && name != "" {
			names = append(names, strings.TrimPrefix(name, "CAP_"))
		}
	}
	return fmt.Sprintf("%d: %s", len(names), strings.Join(names, ","))
}

func popcount(v uint64) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

func seccompText(mode int) string {
	switch mode {
	case 0:
		return "off"
	case 1:
		return "strict"
	case 2:
		return "filter"
	}
	return strconv.Itoa(mode)
}

// limitNames are the cgroup limits the probe shows.
var limitNames = []string{"pids", "memory", "cpu"}

// Limits reads, on the host, the limits of the cgroups facts names: the
// pids, memory and CPU limits of v1 controllers or of the v2 cgroup,
// under root (/sys/fs/cgroup). A limit that is not set is left out.
func Limits(root string, f Facts) map[string]string {
	limits := map[string]string{}
	read := func(parts ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{root}, parts...)...))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	for controllers, path := range f.Cgroups {
		if controllers == "" { // cgroup v2
			if v := read(path, "pids.max"); v != "" && v != "max" {
				limits["pids"] = v
			}
			if v := read(path, "memory.max"); v != "" && v != "max" {
				limits["memory"] = v + " bytes"
			}
			if v := read(path, "cpu.max"); v != "" && !strings.HasPrefix(v, "max") {
				limits["cpu"] = v + " (quota period, us)"
			}
			continue
		}
		for _, c := range strings.Split(controllers, ",") {
			switch c {
			case "pids":
				if v := read("pids", path, "pids.max"); v != "" && v != "max" {
					limits["pids"] = v
				}
			case "memory":
				// v1 reports "no limit" as a huge number.
				if v := read("memory", path, "memory.limit_in_bytes"); v != "" && len(v) < 19 {
					limits["memory"] = v + " bytes"
				}
			case "cpu":
				if v := read("cpu", path, "cpu.cfs_quota_us"); v != "" && v != "-1" {
					limits["cpu"] = v + " us per " + read("cpu", path, "cpu.cfs_period_us") + " us"
				}
			}
		}
	}
	return limits
}
