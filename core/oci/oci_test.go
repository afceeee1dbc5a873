package oci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crun-project/crun/core"
)

// bundle writes config.json into a new bundle and returns the bundle.
func bundle(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// minimal is the least config.json that compiles: a command and a root.
func minimal() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
		Root:    &specs.Root{Path: "rootfs"},
	}
}

func compile(t *testing.T, s *specs.Spec) core.Request {
	t.Helper()
	req, err := Compile("/b", s)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// options lists a request's options as PLUGIN.KEY=VALUE.
func options(req core.Request) []string {
	var out []string
	for _, o := range req.Options {
		out = append(out, o.Plugin+"."+o.Key+"="+o.Value)
	}
	return out
}

func wantOptions(t *testing.T, req core.Request, want ...string) {
	t.Helper()
	got := options(req)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("option %s missing from %v", w, got)
		}
	}
}

func wantError(t *testing.T, s *specs.Spec, fragments ...string) {
	t.Helper()
	_, err := Compile("/b", s)
	if err == nil {
		t.Fatalf("compiled; want an error naming %v", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not say %q", err, f)
		}
	}
}

func TestLoad(t *testing.T) {
	data, _ := json.Marshal(Default("rootfs"))
	dir := bundle(t, string(data))
	s, rootfs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rootfs != filepath.Join(dir, "rootfs") || s.Process.Args[0] != "sh" {
		t.Errorf("rootfs %s, args %v", rootfs, s.Process.Args)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{"malformed", "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {,\n}", "line 3, column 15"},
		{"cut short", `{"ociVersion": "1.0.0"`, "malformed JSON"},
		{"wrong type", "{\"ociVersion\": \"1.0.0\",\n\"hostname\": 7}", "hostname is a JSON number, want a string"},
		{"major 2", `{"ociVersion": "2.0.0", "root": {"path": "r"}}`, `ociVersion "2.0.0": crun supports runtime-spec 1.x`},
		{"no version", `{"root": {"path": "r"}}`, "ociVersion is missing"},
		{"no root", `{"ociVersion": "1.2.0"}`, "root.path is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(bundle(t, tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ConfigFile) {
				t.Errorf("error %v, want one naming config.json and saying %q", err, tc.want)
			}
		})
	}
	_, _, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "has no config.json: crun spec --bundle") {
		t.Errorf("no config.json: %v", err)
	}
}

// TestDefaultCompiles: what crun spec writes, crun runs.
func TestDefaultCompiles(t *testing.T) {
	req := compile(t, Default("rootfs"))
	for _, p := range []string{"pid", "uts", "mnt", "chroot", "nnp", "caps", "mask", "runas"} {
		if !slices.Contains(req.Plugins, p) {
			t.Errorf("plugin %s missing from %v", p, req.Plugins)
		}
	}
	wantOptions(t, req, "chroot.rootfs=/b/rootfs", "chroot.readonly=true", "uts.hostname=crun",
		"caps.drop=ALL", "caps.add=CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE", "runas.user=0:0")
	if slices.Contains(req.Plugins, "cgroup") {
		t.Errorf("cgroup enabled without a resource limit: %v", req.Plugins)
	}
}

func TestProcess(t *testing.T) {
	s := minimal()
	s.Process.Args = []string{"sh", "-c", "pwd"}
	s.Process.Env = []string{"PATH=/bin", "A=b"}
	s.Process.Cwd = "/srv"
	s.Process.User = specs.User{UID: 1000, GID: 100, AdditionalGids: []uint32{5, 6}}
	s.Process.NoNewPrivileges = true
	req := compile(t, s)
	if !slices.Equal(req.Command, s.Process.Args) || !slices.Equal(req.Env, s.Process.Env) || !req.EnvOnly {
		t.Errorf("command %v, env %v, env only %v", req.Command, req.Env, req.EnvOnly)
	}
	wantOptions(t, req, "chroot.workdir=/srv", "runas.user=1000:100", "runas.groups=5,6")
	if !slices.Contains(req.Plugins, "nnp") {
		t.Errorf("no nnp: %v", req.Plugins)
	}
	for _, o := range req.Options {
		if o.Plugin == "chroot" && o.Key == "workdir" && o.Flag != "config.json process.cwd" {
			t.Errorf("workdir's flag %q does not name the field", o.Flag)
		}
	}
	// "/" is where the root switch leaves the process: no step for it.
	if slices.ContainsFunc(options(compile(t, minimal())), func(o string) bool { return strings.HasPrefix(o, "chroot.workdir") }) {
		t.Error("cwd / gave a workdir option")
	}
}

func TestNamespacesAndHostname(t *testing.T) {
	s := minimal()
	s.Hostname = "box"
	s.Linux = &specs.Linux{
		Namespaces:  []specs.LinuxNamespace{{Type: "uts"}, {Type: "pid"}, {Type: "mount"}, {Type: "user"}},
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 10}, {ContainerID: 10, HostID: 5, Size: 1}},
	}
	req := compile(t, s)
	for _, p := range []string{"uts", "pid", "mnt", "user"} {
		if !slices.Contains(req.Plugins, p) {
			t.Errorf("plugin %s missing from %v", p, req.Plugins)
		}
	}
	wantOptions(t, req, "uts.hostname=box", "user.map=0:100000:65536", "user.gidmap=0:200000:10,10:5:1")
}

func TestResources(t *testing.T) {
	s := minimal()
	pids, mem, quota, period := int64(20), int64(64<<20), int64(29000), uint64(100000)
	s.Linux = &specs.Linux{Resources: &specs.LinuxResources{
		Pids:   &specs.LinuxPids{Limit: &pids},
		Memory: &specs.LinuxMemory{Limit: &mem, Swap: &mem},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
	}}
	wantOptions(t, compile(t, s), "cgroup.pids-max=20", "cgroup.memory=67108864", "cgroup.cpus=0.29")

	// OCI's default is no limit of processes; the cgroup plugin's is 1024.
	s.Linux.Resources.Pids = nil
	wantOptions(t, compile(t, s), "cgroup.pids-max=max")
}

func TestMountsAndMasks(t *testing.T) {
	s := minimal()
	s.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "nodev", "noexec", "mode=1777", "size=65536k"}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "size=64m", "noexec"}},
		{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind", "ro"}},
		{Destination: "/etc/hosts", Source: "/etc/hosts", Options: []string{"bind"}},
	}
	s.Linux = &specs.Linux{
		Namespaces:    []specs.LinuxNamespace{{Type: "mount"}},
		MaskedPaths:   []string{"/proc/kcore", "/proc/secret"},
		ReadonlyPaths: []string{"/proc/sys"},
	}
	wantOptions(t, compile(t, s), "chroot.tmpfs=/tmp:size=64m,noexec", "chroot.bind=/b/data:/data:ro",
		"chroot.bind=/etc/hosts:/etc/hosts", "mask.hide=/proc/kcore,/proc/secret", "mask.readonly=/proc/sys")
}

func TestCapabilitiesMapExactly(t *testing.T) {
	s := minimal()
	s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_CHOWN", "CAP_KILL"}, Permitted: []string{"KILL", "CAP_CHOWN"},
	}
	wantOptions(t, compile(t, s), "caps.drop=ALL", "caps.add=CAP_CHOWN,CAP_KILL")

	s.Process.Capabilities.Effective = []string{"CAP_CHOWN"}
	wantError(t, s, "process.capabilities.effective differs from bounding")
	s.Process.Capabilities.Effective = s.Process.Capabilities.Bounding
	s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
	wantError(t, s, "process.capabilities.ambient")
	s.Process.Capabilities.Ambient = nil
	s.Process.Capabilities.Bounding = []string{"CAP_FLY"}
	wantError(t, s, "process.capabilities.bounding[0]")
}

func TestAnnotations(t *testing.T) {
	s := minimal()
	s.Annotations = map[string]string{
		"crun.plugins":          "secrets, cgroup",
		"crun.opt.secrets.from": "/run/keys",
		"io.kubernetes.pod":     "metadata, not an instruction",
	}
	req := compile(t, s)
	if !slices.Contains(req.Plugins, "secrets") || !slices.Contains(req.Plugins, "cgroup") {
		t.Errorf("plugins %v", req.Plugins)
	}
	wantOptions(t, req, "secrets.from=/run/keys")
	s.Annotations = map[string]string{"crun.opts.secrets.from": "x"}
	wantError(t, s, "annotations[crun.opts.secrets.from]")
}

// TestRefusals: every field crun does not implement is refused, named.
func TestRefusals(t *testing.T) {
	oomScore := 5
	swappiness := uint64(0)
	for _, tc := range []struct {
		name string
		edit func(*specs.Spec)
		want []string
	}{
		{"terminal", func(s *specs.Spec) { s.Process.Terminal = true }, []string{"process.terminal", "--console-socket, not implemented yet"}},
		{"network", func(s *specs.Spec) {
			s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "uts"}, {Type: "network"}}}
		}, []string{"linux.namespaces[2] (network): crun has no plugin for it yet"}},
		{"join", func(s *specs.Spec) {
			s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid", Path: "/proc/1/ns/pid"}}}
		}, []string{"linux.namespaces[0] (pid)", "joining"}},
		{"hostname without uts", func(s *specs.Spec) { s.Hostname = "box" }, []string{"hostname", "uts namespace"}},
		{"maps without user", func(s *specs.Spec) {
			s.Linux = &specs.Linux{UIDMappings: []specs.LinuxIDMapping{{Size: 1}}, GIDMappings: []specs.LinuxIDMapping{{Size: 1}}}
		}, []string{"linux.uidMappings", "user namespace"}},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, []string{"process.args"}},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "srv" }, []string{"process.cwd"}},
		{"rlimits", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}}
		}, []string{"config.json: process.rlimits[0].type: crun does not implement it yet"}},
		{"two at once", func(s *specs.Spec) {
			s.Process.OOMScoreAdj = &oomScore
			s.Linux = &specs.Linux{Sysctl: map[string]string{"net.ipv4.ip_forward": "1"}}
		}, []string{"process.oomScoreAdj", "nor linux.sysctl"}},
		{"a pointer to zero is set", func(s *specs.Spec) {
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: &swappiness}}}
		}, []string{"linux.resources.memory.swappiness"}},
		{"seccomp", func(s *specs.Spec) {
			s.Linux = &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}}
		}, []string{"linux.seccomp.defaultAction"}},
		{"hooks", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}}
		}, []string{"hooks.poststop[0].path"}},
		{"umask", func(s *specs.Spec) { u := uint32(0o22); s.Process.User.Umask = &u }, []string{"process.user.umask"}},
		{"sysfs", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/sys", Type: "sysfs", Source: "sysfs"}}
		}, []string{"mounts[0] (/sys)", "sysfs"}},
		{"devpts gid", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/dev/pts", Type: "devpts", Options: []string{"newinstance", "gid=5"}}}
		}, []string{"mounts[0] (/dev/pts): option gid=5"}},
		{"bind nosuid", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/d", Source: "/d", Type: "bind", Options: []string{"rbind", "nosuid"}}}
		}, []string{"mounts[0] (/d): option nosuid"}},
		{"tmpfs under an earlier bind", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/d", Source: "/d", Options: []string{"rbind"}}, {Destination: "/d/t", Type: "tmpfs"}}
		}, []string{"mounts[1] (/d/t)", "bind on /d"}},
		{"swap unlimited", func(s *specs.Spec) {
			limit, swap := int64(64<<20), int64(-1)
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap}}}
		}, []string{"linux.resources.memory.swap -1"}},
		{"cpu period", func(s *specs.Spec) {
			q, p := int64(5000), uint64(10000)
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: &q, Period: &p}}}
		}, []string{"linux.resources.cpu.period 10000"}},
		{"cpu shares", func(s *specs.Spec) {
			sh := uint64(512)
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &sh}}}
		}, []string{"linux.resources.cpu.shares"}},
		{"a device allowed", func(s *specs.Spec) {
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Access: "rwm"}}}}
		}, []string{"linux.resources.devices[1]"}},
		{"deny all without a mount namespace", func(s *specs.Spec) {
			s.Linux = &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}}
		}, []string{"linux.resources.devices", "mount namespace"}},
		{"cgroupsPath", func(s *specs.Spec) { s.Linux = &specs.Linux{CgroupsPath: "/a/b"} }, []string{"linux.cgroupsPath"}},
		{"domainname", func(s *specs.Spec) { s.Domainname = "example.org" }, []string{"domainname"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := minimal()
			tc.edit(s)
			wantError(t, s, append(tc.want, "config.json")...)
		})
	}
}

func TestSetFields(t *testing.T) {
	zero := int64(0)
	s := minimal()
	s.Linux = &specs.Linux{
		Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {}},
		Resources:  &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &zero}},
	}
	got := setFields(s)
	want := []string{"ociVersion", "process.args", "process.cwd", "root.path", "linux.resources.pids.limit",
		"linux.namespaces[0].type", "linux.namespaces[1]"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s missing from %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("set fields %v, want %v", got, want)
	}
}

// TestFeaturesAreWhatCompileTakes: every namespace crun features lists
// compiles, and one it leaves out is refused; every mount option it
// lists is taken by a bind or a tmpfs mount.
func TestFeaturesAreWhatCompileTakes(t *testing.T) {
	f := Features()
	all := []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace, specs.TimeNamespace}
	for _, ns := range all {
		s := minimal()
		s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: ns}}}
		if ns == specs.UserNamespace {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = s.Linux.UIDMappings
		}
		_, err := Compile("/b", s)
		if listed := slices.Contains(f.Linux.Namespaces, string(ns)); listed != (err == nil) {
			t.Errorf("namespace %s: listed in features %v, compiles: %v", ns, listed, err)
		}
	}
	if f.OCIVersionMax != specs.Version || len(f.MountOptions) == 0 || len(f.Linux.Capabilities) == 0 {
		t.Errorf("features %+v", f)
	}
}
