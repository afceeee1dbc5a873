package spec

import "slices"

// Namespace names a Linux namespace a plugin asks for. crun turns the union
// of all contributions' namespaces into the clone flags of its child.
type Namespace string

const (
	NamespaceMount  Namespace = "mnt"
	NamespaceUTS    Namespace = "uts"
	NamespaceIPC    Namespace = "ipc"
	NamespaceNet    Namespace = "net"
	NamespacePID    Namespace = "pid"
	NamespaceUser   Namespace = "user"
	NamespaceCgroup Namespace = "cgroup"
)

// Namespaces lists every namespace crun knows, in the order plans print
// them.
func Namespaces() []Namespace { return slices.Clone(namespaces) }

var namespaces = []Namespace{
	NamespaceMount, NamespaceUTS, NamespaceIPC, NamespaceNet,
	NamespacePID, NamespaceUser, NamespaceCgroup,
}

// Phase groups child steps by what the kernel requires to happen first.
// Steps run phase by phase; within a phase, in plugin order, then in the
// order the plugin listed them.
type Phase string

const (
	// PhasePrepare comes before any mount: e.g. making the mount tree
	// private, so that nothing mounted later propagates to the host.
	PhasePrepare Phase = "prepare"
	// PhaseMount is for mounts made before the root switch (/proc, tmpfs,
	// binds, the new root bound onto itself).
	PhaseMount Phase = "mount"
	// PhaseRoot switches the root: chroot or pivot_root.
	PhaseRoot Phase = "root"
	// PhaseConfigure is for settings of the new environment that do not
	// restrict the process itself: hostname, working directory, mounts
	// inside the new root.
	PhaseConfigure Phase = "configure"
	// PhaseRestrict comes last, just before exec: settings that restrict
	// the process itself (capabilities, no_new_privs, seccomp).
	PhaseRestrict Phase = "restrict"
)

// Phases lists the phases in the order the child runs them.
func Phases() []Phase { return slices.Clone(phases) }

var phases = []Phase{PhasePrepare, PhaseMount, PhaseRoot, PhaseConfigure, PhaseRestrict}

// Step is one action of crun's init inside the new namespaces. Exactly one
// of the action fields is set.
type Step struct {
	Phase Phase `json:"phase"`
	// Requires lists namespaces without which this step must not run
	// (a step that would otherwise change the host). crun refuses a plan
	// where a step requires a namespace no plugin enabled. Some actions
	// imply requirements of their own (Sethostname needs uts, PivotRoot
	// needs mnt).
	Requires []Namespace `json:"requires,omitempty"`
	// Why says in plain words why the step is there; crun plan shows it.
	Why string `json:"why,omitempty"`

	Mount       *Mount       `json:"mount,omitempty"`
	Sethostname *Sethostname `json:"sethostname,omitempty"`
	Mkdir       *Mkdir       `json:"mkdir,omitempty"`
	Symlink     *Symlink     `json:"symlink,omitempty"`
	Chdir       *Chdir       `json:"chdir,omitempty"`
	Chroot      *Chroot      `json:"chroot,omitempty"`
	PivotRoot   *PivotRoot   `json:"pivot_root,omitempty"`
	CopyFile    *CopyFile    `json:"copy_file,omitempty"`
	JoinCgroup  *JoinCgroup  `json:"join_cgroup,omitempty"`

	Mask *Mask `json:"mask,omitempty"`

	// What restricts the process itself; put them in the restrict phase.
	Rlimit       *Rlimit       `json:"rlimit,omitempty"`
	SetUser      *SetUser      `json:"set_user,omitempty"`
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	NoNewPrivs   *NoNewPrivs   `json:"no_new_privs,omitempty"`
	Seccomp      *Seccomp      `json:"seccomp,omitempty"`
}

// Mask hides a path of the container, or makes it read-only, deciding
// when the step runs what the path is: nothing is done when it does not
// exist; a file is hidden under /dev/null, a directory under an empty
// read-only tmpfs; read-only, it is bound onto itself and remounted
// read-only (keeping its nosuid, nodev and noexec). Path is in the
// container's root as it is when the step runs (after the root switch, in
// the configure phase), symlinks in it resolved inside that root. It
// implies the mnt namespace: outside one it would hide the host's paths.
type Mask struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Rlimit is setrlimit(2) of one resource, by the name prlimit(1) and the
// OCI runtime spec use: RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE...
// (the RLIMIT_ prefix may be left out). It comes before the steps of
// the restrict phase that change the user (RLIMIT_NPROC counts the new
// user's processes).
type Rlimit struct {
	Resource string `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

// SetUser makes the process run as UID and GID, with exactly the
// supplementary groups Groups (none when empty): setgroups, setresgid,
// setresuid. The capabilities of the process survive the change (its
// permitted set: keepcaps) so that a Capabilities step after it decides
// which stay; without one, a user other than root has none left. The ids
// are the ones of the process's user namespace: in a new one, they must
// be mapped (an IDMap host step).
type SetUser struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// KeepGroups leaves the supplementary groups as they are, and Groups
	// must be empty: in a user namespace whose setgroups is denied (an
	// ordinary user's, mapping only its own ids) setgroups(2) fails.
	KeepGroups bool `json:"keep_groups,omitempty"`
}

// Capabilities sets the process's capability sets, by name (CAP_CHOWN,
// or CHOWN: the prefix is optional; "ALL" is every capability the kernel
// has). The bounding set is cut to Bounding first, then the effective,
// permitted and inheritable sets are set, then the ambient set is made
// exactly Ambient (each must be permitted and inheritable too). A name
// the kernel does not have is left out of every set (crun plan warns).
type Capabilities struct {
	Bounding    []string `json:"bounding"`
	Effective   []string `json:"effective"`
	Permitted   []string `json:"permitted"`
	Inheritable []string `json:"inheritable,omitempty"`
	Ambient     []string `json:"ambient,omitempty"`
}

// NoNewPrivs sets the process's no_new_privs bit (prctl
// PR_SET_NO_NEW_PRIVS): execve can no longer grant privileges, through
// set-user-ID files or file capabilities, to it or its children.
type NoNewPrivs struct{}

// Seccomp loads a system call filter, in the form of the OCI runtime
// spec's linux.seccomp (what Docker's and podman's profiles compile to).
// crun compiles it to BPF before the clone, for this machine's
// architectures; a system call this machine does not have is left out
// with a warning, as runc does. Load it before the steps that drop the
// privilege to load a filter (capabilities, a user change), unless a
// NoNewPrivs step comes first: the filter then also applies to those
// steps' own system calls, which it must allow.
type Seccomp struct {
	// DefaultAction applies to the system calls no rule names:
	// SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD (or
	// SCMP_ACT_KILL), SCMP_ACT_TRAP, SCMP_ACT_LOG or SCMP_ACT_ALLOW.
	DefaultAction string `json:"default_action"`
	// DefaultErrno is the errno of an SCMP_ACT_ERRNO default (EPERM when
	// unset).
	DefaultErrno *uint32 `json:"default_errno,omitempty"`
	// Architectures the filter admits, SCMP_ARCH_X86_64 and so on; system
	// calls of any other are killed. Empty: the machine's own only.
	Architectures []string `json:"architectures,omitempty"`
	// Flags for seccomp(2): SECCOMP_FILTER_FLAG_LOG,
	// SECCOMP_FILTER_FLAG_SPEC_ALLOW.
	Flags    []string      `json:"flags,omitempty"`
	Syscalls []SeccompRule `json:"syscalls,omitempty"`
}

// SeccompRule gives Action to the system calls Names, when every one of
// Args holds (a call several rules name takes the first that holds).
type SeccompRule struct {
	Names  []string `json:"names"`
	Action string   `json:"action"`
	// Errno is the errno of SCMP_ACT_ERRNO (EPERM when unset).
	Errno *uint32      `json:"errno,omitempty"`
	Args  []SeccompArg `json:"args,omitempty"`
}

// SeccompArg compares argument Index (0-5) with Value: Op is
// SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT,
// SCMP_CMP_GE, or SCMP_CMP_MASKED_EQ (argument & Value == ValueTwo).
type SeccompArg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"value_two,omitempty"`
	Op       string `json:"op"`
}

// JoinCgroup moves crun's init into a cgroup v1 cgroup by writing "0" to
// its tasks file: the writing thread moves itself, and it is the thread
// that then executes the command (exec leaves only it), so the command
// and everything it forks are in the cgroup. A thread moving itself
// skips the kernel's global threadgroup lock, whose first write-lock
// waits for an RCU grace period: attaching from the host through
// cgroup.procs costs 10-20 ms, this costs microseconds. Put it in the
// prepare phase, before the mount tree changes.
type JoinCgroup struct {
	// Path is the cgroup directory (the tasks file is inside).
	Path string `json:"path"`
}

// CopyFile copies a host file into the container, e.g. a secret into a
// tmpfs: the content never travels in the plan, the environment or argv,
// only the paths do. Source is read when the step runs, so the step must
// come before the root switch (mount phase). Target is resolved inside
// Root when Root is set; missing parent directories are created (0755).
type CopyFile struct {
	Source string `json:"source"`
	Target string `json:"target"`
	Root   string `json:"root,omitempty"`
	// Mode is the file's permission bits; 0 means 0644. Across step
	// kinds a mode of 0 is the usual one: 0755 for a directory (Mkdir),
	// 0644 for a file.
	Mode uint32 `json:"mode"`
}

// Mount is mount(2). Flags are names, so plans read like mount(8):
// ro, nosuid, nodev, noexec, bind, rec, private, slave, shared,
// unbindable, remount, relatime, strictatime, noatime.
type Mount struct {
	Source string   `json:"source"`
	Target string   `json:"target"`
	FSType string   `json:"fstype,omitempty"`
	Flags  []string `json:"flags,omitempty"`
	Data   string   `json:"data,omitempty"`
	// CreateTarget makes the target (and its parents) first when it does
	// not exist: an empty file when a bind mount's source is a file (a
	// device node, say), a directory otherwise.
	CreateTarget bool `json:"create_target,omitempty"`
	// Root, when set, is a directory Target is resolved inside, as if it
	// were the root: symlinks and ".." in the rootfs cannot lead the mount
	// out of it (a rootfs whose /mnt links to the host's /etc must not get
	// a tmpfs over the host's /etc). Target is then a path in the
	// container, e.g. Root "/srv/rootfs", Target "/proc".
	Root string `json:"root,omitempty"`
	// IfExists skips the mount, in the container, when its source (a
	// bind mount's) or its target (unless CreateTarget) is missing,
	// instead of failing the run: "mask /proc/kcore if this kernel has
	// one" decided where the paths are, not by the plugin on the host.
	// Needs a crun with FeatureMountIfExists.
	IfExists bool `json:"if_exists,omitempty"`
}

// AddsMount tells a mount that adds to the mount table from one that only
// changes an existing mount (a remount, or a propagation change).
func (m *Mount) AddsMount() bool {
	for _, f := range m.Flags {
		switch f {
		case "remount", "private", "slave", "shared", "unbindable":
			return false
		}
	}
	return true
}

// Sethostname is sethostname(2). It implies the uts namespace.
type Sethostname struct {
	Hostname string `json:"hostname"`
}

// Mkdir creates a directory and its parents, like mkdir -p.
type Mkdir struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode,omitempty"` // 0 means 0755 (see CopyFile.Mode)
}

// Symlink creates Link pointing at Target, like ln -s Target Link. An
// existing link with the same target is left alone.
type Symlink struct {
	Target string `json:"target"`
	Link   string `json:"link"`
}

// Chdir is chdir(2).
type Chdir struct {
	Path string `json:"path"`
}

// Chroot is chroot(2) into Path followed by chdir("/"). The old root stays
// reachable to a privileged process (the classic escape).
type Chroot struct {
	Path string `json:"path"`
}

// PivotRoot makes Path the new root with pivot_root(2), then detaches the
// old root so that nothing of the host's tree remains reachable. Path must
// be a mount point (bind it onto itself first). It implies the mnt
// namespace: outside one it would move the host's root.
type PivotRoot struct {
	Path string `json:"path"`
}

// HookPoint names a moment on the host side of a run.
type HookPoint string

const (
	// HookBeforeClone runs on the host before the child exists.
	HookBeforeClone HookPoint = "before-clone"
	// HookAfterClone runs while the child waits in its new namespaces,
	// before it performs any step (attach to a cgroup, write id maps,
	// configure a network namespace).
	HookAfterClone HookPoint = "after-clone"
	// HookAfterExit runs after the container has exited, in reverse
	// plugin order; it also runs when a run fails part-way, so its
	// actions must tolerate work that was never done.
	HookAfterExit HookPoint = "after-exit"
)

// HookPoints lists the host points in the order a run reaches them.
func HookPoints() []HookPoint { return slices.Clone(hookPoints) }

var hookPoints = []HookPoint{HookBeforeClone, HookAfterClone, HookAfterExit}

// HostStep is an action crun performs on the host at a point of the run.
// Exactly one action field is set.
type HostStep struct {
	Point HookPoint `json:"point"`
	Why   string    `json:"why,omitempty"`

	Mkdir     *Mkdir     `json:"mkdir,omitempty"`
	WriteFile *WriteFile `json:"write_file,omitempty"`
	// WritePid writes the child's host pid into a file (e.g. to attach it
	// to a cgroup through cgroup.procs).
	WritePid *WritePid `json:"write_pid,omitempty"`
	// RemoveDir removes an empty directory; a missing one is not an error.
	RemoveDir *RemoveDir `json:"remove_dir,omitempty"`
	// KillCgroup kills every process left in a cgroup.
	KillCgroup *KillCgroup `json:"kill_cgroup,omitempty"`
	// Report reads a value from a file and shows it to the user (peak
	// usage, an OOM kill count).
	Report *Report `json:"report,omitempty"`
	// Hook calls the plugin's Hook method (see Description.Hooks).
	Hook *Hook `json:"hook,omitempty"`
	// IDMap writes the id maps of the child's user namespace.
	IDMap *IDMap `json:"id_map,omitempty"`
}

// IDMap gives the child's user namespace its user and group ids, at
// after-clone while the child waits in it: until then every id in it is
// the overflow id (nobody) and the child can create no file. crun writes
// /proc/PID/uid_map and gid_map itself when the kernel lets it (as root;
// or as an ordinary user mapping just its own uid and gid, which needs
// DenySetgroups); otherwise it runs newuidmap and newgidmap (the uidmap
// package), which grant an ordinary user the ranges /etc/subuid and
// /etc/subgid give it. The step implies the user namespace.
type IDMap struct {
	UIDs []IDRange `json:"uids"`
	GIDs []IDRange `json:"gids"`
	// DenySetgroups writes "deny" to /proc/PID/setgroups first: the
	// container cannot drop a group to gain access (a file mode that
	// denies a group), which the kernel demands before an ordinary user
	// may write a gid map.
	DenySetgroups bool `json:"deny_setgroups,omitempty"`
}

// IDRange maps Size ids from Container (in the user namespace) to Host
// (in crun's), as a line of uid_map does.
type IDRange struct {
	Container uint32 `json:"container"`
	Host      uint32 `json:"host"`
	Size      uint32 `json:"size"`
}

// WriteFile writes Content to a file in one write(2), as echo CONTENT >
// PATH (kernel interfaces such as cgroup files take one value per write).
type WriteFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	// IfExists skips the write when the file does not exist (a cgroup
	// file the kernel offers only with some options, such as swap).
	IfExists bool `json:"if_exists,omitempty"`
}

// KillCgroup kills what is left in the cgroup directory Path: through
// cgroup.kill where the kernel has it (cgroup v2, Linux 5.14+), otherwise
// by sending SIGKILL to every pid in cgroup.procs until none is left. A
// missing cgroup is not an error.
type KillCgroup struct {
	Path string `json:"path"`
}

// Report shows the user a value read from a file, as "crun: PLUGIN:
// LABEL: VALUE". With Key, the file is read as "key value" lines and the
// value of Key is shown; otherwise the whole (trimmed) content. With
// NonZero, nothing is shown unless the value is a number other than 0.
type Report struct {
	Path    string `json:"path"`
	Key     string `json:"key,omitempty"`
	Label   string `json:"label"`
	NonZero bool   `json:"non_zero,omitempty"`
	// Unit formats a number: "bytes" (as KiB, MiB...), "ns" or "us" (as
	// seconds); empty leaves it as it is.
	Unit string `json:"unit,omitempty"`
}

// WritePid writes the child's host pid to Path.
type WritePid struct {
	Path string `json:"path"`
}

// RemoveDir is rmdir(2), tolerant of a directory that is already gone.
type RemoveDir struct {
	Path string `json:"path"`
}

// Hook asks crun to call the contributing plugin's Hook method.
type Hook struct {
	// Name is passed to the plugin so one plugin can have several hooks.
	Name string `json:"name,omitempty"`
}
