package oci

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crun-project/crun/sdk/spec"
)

// rule maps fields of config.json (as it names them) to plugins and
// their options. Compile runs every rule, set or not (a rule reads its
// own fields), and refuses any set field no rule lists.
type rule struct {
	fields  []string
	compile func(*compiler) error
}

// rules is the whole mapping, one rule per field; namespaces first, as
// other rules look at them.
var rules = []rule{
	{[]string{"ociVersion"}, func(*compiler) error { return nil }}, // Load checks it
	{[]string{"linux.namespaces"}, namespaces},
	{[]string{"process.terminal"}, terminal},
	{[]string{"process.user.uid", "process.user.gid", "process.user.additionalGids"}, runAs},
	{[]string{"process.args"}, args},
	{[]string{"process.env"}, env},
	{[]string{"process.cwd"}, cwd},
	{[]string{"process.capabilities"}, capabilities},
	{[]string{"process.noNewPrivileges"}, noNewPrivileges},
	{[]string{"root.path", "root.readonly"}, root},
	{[]string{"hostname"}, hostname},
	{[]string{"mounts"}, mounts},
	{[]string{"linux.uidMappings", "linux.gidMappings"}, idMappings},
	{[]string{"linux.resources.pids.limit"}, pidsLimit},
	{[]string{"linux.resources.memory.limit", "linux.resources.memory.swap"}, memory},
	{[]string{"linux.resources.cpu.quota", "linux.resources.cpu.period"}, cpu},
	{[]string{"linux.resources.devices"}, devices},
	{[]string{"linux.maskedPaths", "linux.readonlyPaths"}, masks},
	{[]string{"annotations"}, annotations},
}

func terminal(c *compiler) error {
	if p := c.spec.Process; p != nil && p.Terminal {
		return errors.New("process.terminal: a terminal needs --console-socket, not implemented yet: set it to false")
	}
	return nil
}

// runAs always sets the user: OCI's default is root with no
// supplementary groups, not whatever crun's caller has.
func runAs(c *compiler) error {
	if c.spec.Process == nil {
		return nil
	}
	u := c.spec.Process.User
	c.enable("runas")
	c.option("runas", "user", fmt.Sprintf("%d:%d", u.UID, u.GID), "process.user")
	if len(u.AdditionalGids) > 0 {
		var ids []string
		for _, g := range u.AdditionalGids {
			ids = append(ids, strconv.FormatUint(uint64(g), 10))
		}
		c.option("runas", "groups", strings.Join(ids, ","), "process.user.additionalGids")
	}
	return nil
}

func args(c *compiler) error {
	if c.spec.Process == nil || len(c.spec.Process.Args) == 0 {
		return errors.New("process.args is empty: give the command the container runs")
	}
	c.req.Command = slices.Clone(c.spec.Process.Args)
	return nil
}

// env is the whole environment: crun adds none of its own.
func env(c *compiler) error {
	c.req.EnvOnly = true
	if c.spec.Process == nil {
		return nil
	}
	for i, kv := range c.spec.Process.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("process.env[%d] %q: want KEY=VALUE", i, kv)
		}
	}
	c.req.Env = slices.Clone(c.spec.Process.Env)
	return nil
}

func cwd(c *compiler) error {
	if c.spec.Process == nil || c.spec.Process.Cwd == "" || path.Clean(c.spec.Process.Cwd) == "/" {
		return nil
	}
	if !path.IsAbs(c.spec.Process.Cwd) {
		return fmt.Errorf("process.cwd %q: want an absolute path in the container", c.spec.Process.Cwd)
	}
	c.option("chroot", "workdir", c.spec.Process.Cwd, "process.cwd")
	return nil
}

// capabilities maps exactly or not at all: the caps plugin gives one
// set as bounding, effective and permitted, and empties inheritable and
// ambient.
func capabilities(c *compiler) error {
	if c.spec.Process == nil || c.spec.Process.Capabilities == nil {
		return nil // as runc: no list, no change
	}
	caps := c.spec.Process.Capabilities
	bounding, err := capSet("bounding", caps.Bounding)
	if err != nil {
		return err
	}
	for _, set := range []struct {
		name string
		list []string
	}{{"effective", caps.Effective}, {"permitted", caps.Permitted}} {
		other, err := capSet(set.name, set.list)
		if err != nil {
			return err
		}
		if !slices.Equal(other, bounding) {
			return fmt.Errorf("process.capabilities.%s differs from bounding: the caps plugin gives one set as bounding, effective and permitted", set.name)
		}
	}
	if len(caps.Inheritable) > 0 {
		return errors.New("process.capabilities.inheritable: the caps plugin keeps it empty (CVE-2022-24769): leave it out")
	}
	if len(caps.Ambient) > 0 {
		return errors.New("process.capabilities.ambient: the caps plugin keeps it empty: leave it out")
	}
	c.enable("caps")
	c.option("caps", "drop", spec.AllCapabilities, "process.capabilities")
	if len(bounding) > 0 {
		c.option("caps", "add", strings.Join(bounding, ","), "process.capabilities.bounding")
	}
	return nil
}

// capSet canonicalises a list of capabilities, in capability order.
func capSet(name string, list []string) ([]string, error) {
	var set []string
	for i, n := range list {
		num, err := spec.CapabilityNumber(n)
		if err != nil {
			return nil, fmt.Errorf("process.capabilities.%s[%d]: %w", name, i, err)
		}
		set = append(set, spec.CapabilityName(num))
	}
	slices.SortFunc(set, func(a, b string) int {
		x, _ := spec.CapabilityNumber(a)
		y, _ := spec.CapabilityNumber(b)
		return int(x) - int(y)
	})
	return slices.Compact(set), nil
}

func noNewPrivileges(c *compiler) error {
	if c.spec.Process != nil && c.spec.Process.NoNewPrivileges {
		c.enable("nnp")
	}
	return nil
}

func root(c *compiler) error {
	rootfs, err := rootPath(c.bundle, c.spec)
	if err != nil {
		return err
	}
	c.enable("chroot")
	c.option("chroot", "rootfs", rootfs, "root.path")
	if c.spec.Root.Readonly {
		c.option("chroot", "readonly", "true", "root.readonly")
	}
	return nil
}

func hostname(c *compiler) error {
	if c.spec.Hostname == "" {
		return nil
	}
	if !c.namespace(specs.UTSNamespace) {
		return errors.New("hostname: needs a uts namespace: add {\"type\": \"uts\"} to linux.namespaces")
	}
	c.option("uts", "hostname", c.spec.Hostname, "hostname")
	return nil
}

// namespacePlugins are the namespaces crun has a plugin for.
var namespacePlugins = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:   "pid",
	specs.MountNamespace: "mnt",
	specs.UTSNamespace:   "uts",
	specs.UserNamespace:  "user",
}

func namespaces(c *compiler) error {
	if c.spec.Linux == nil {
		return nil
	}
	for i, ns := range c.spec.Linux.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d] (%s)", i, ns.Type)
		plugin, ok := namespacePlugins[ns.Type]
		switch {
		case ns.Type == "":
			return fmt.Errorf("linux.namespaces[%d]: no type", i)
		case !ok:
			return fmt.Errorf("%s: crun has no plugin for it yet", field)
		case ns.Path != "":
			return fmt.Errorf("%s: joining a namespace (path %s) is not implemented yet", field, ns.Path)
		case c.namespace(ns.Type):
			return fmt.Errorf("%s: listed twice", field)
		}
		c.enable(plugin)
	}
	return nil
}

// namespace says whether linux.namespaces asks for one of type t.
func (c *compiler) namespace(t specs.LinuxNamespaceType) bool {
	return slices.Contains(c.req.Plugins, namespacePlugins[t])
}

func idMappings(c *compiler) error {
	if c.spec.Linux == nil || len(c.spec.Linux.UIDMappings)+len(c.spec.Linux.GIDMappings) == 0 {
		return nil
	}
	if !c.namespace(specs.UserNamespace) {
		return errors.New("linux.uidMappings: id maps need a user namespace: add {\"type\": \"user\"} to linux.namespaces")
	}
	if len(c.spec.Linux.UIDMappings) == 0 || len(c.spec.Linux.GIDMappings) == 0 {
		return errors.New("linux.uidMappings and linux.gidMappings: give both or neither")
	}
	c.option("user", "map", idMap(c.spec.Linux.UIDMappings), "linux.uidMappings")
	c.option("user", "gidmap", idMap(c.spec.Linux.GIDMappings), "linux.gidMappings")
	return nil
}

// idMap writes a map as the user plugin reads it: CONTAINER:HOST:COUNT,...
func idMap(ms []specs.LinuxIDMapping) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%d:%d:%d", m.ContainerID, m.HostID, m.Size))
	}
	return strings.Join(parts, ",")
}

func resources(c *compiler) *specs.LinuxResources {
	if c.spec.Linux == nil {
		return nil
	}
	return c.spec.Linux.Resources
}

func pidsLimit(c *compiler) error {
	r := resources(c)
	if r == nil || r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	c.enable("cgroup")
	limit := "max"
	if *r.Pids.Limit > 0 {
		limit = strconv.FormatInt(*r.Pids.Limit, 10)
	}
	c.option("cgroup", "pids-max", limit, "linux.resources.pids.limit")
	return nil
}

// memory: the cgroup plugin limits swap with memory (none beyond the
// limit), which is swap equal to limit in OCI's terms.
func memory(c *compiler) error {
	r := resources(c)
	if r == nil || r.Memory == nil {
		return nil
	}
	limit, swap := r.Memory.Limit, r.Memory.Swap
	if limit == nil || *limit <= 0 {
		if swap != nil {
			return errors.New("linux.resources.memory.swap: without a memory limit the cgroup plugin limits no swap")
		}
		return nil
	}
	if swap != nil && *swap != *limit {
		return fmt.Errorf("linux.resources.memory.swap %d: the cgroup plugin allows no swap beyond the memory limit: leave it out or set it to the limit, %d", *swap, *limit)
	}
	c.enable("cgroup")
	c.option("cgroup", "memory", strconv.FormatInt(*limit, 10), "linux.resources.memory.limit")
	return nil
}

// cpuPeriod is the cgroup plugin's period, in microseconds.
const cpuPeriod = 100000

func cpu(c *compiler) error {
	r := resources(c)
	if r == nil || r.CPU == nil {
		return nil
	}
	if p := r.CPU.Period; p != nil && *p != cpuPeriod {
		return fmt.Errorf("linux.resources.cpu.period %d: the cgroup plugin's period is %d (100ms)", *p, cpuPeriod)
	}
	if q := r.CPU.Quota; q != nil && *q > 0 {
		c.enable("cgroup")
		c.option("cgroup", "cpus", strconv.FormatFloat(float64(*q)/cpuPeriod, 'f', -1, 64), "linux.resources.cpu.quota")
	}
	return nil
}

// devices accepts the one rule runc spec writes, deny all: crun gets the
// same without a device cgroup, because the chroot plugin mounts the
// rootfs and /dev nodev and binds in only the harmless devices a runtime
// must give (see plugins/chroot).
func devices(c *compiler) error {
	r := resources(c)
	if r == nil || len(r.Devices) == 0 {
		return nil
	}
	for i, d := range r.Devices {
		denyAll := !d.Allow && (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil && d.Access == "rwm"
		if !denyAll {
			return fmt.Errorf("linux.resources.devices[%d]: crun gives only the default devices (nodev): it takes only the rule that denies all, {\"allow\": false, \"access\": \"rwm\"}", i)
		}
	}
	c.denyAllDevices = true
	return nil
}

func masks(c *compiler) error {
	if c.spec.Linux == nil {
		return nil
	}
	for _, l := range []struct {
		field, key string
		paths      []string
	}{{"linux.maskedPaths", "hide", c.spec.Linux.MaskedPaths}, {"linux.readonlyPaths", "readonly", c.spec.Linux.ReadonlyPaths}} {
		for i, p := range l.paths {
			if !path.IsAbs(p) || strings.Contains(p, ",") {
				return fmt.Errorf("%s[%d] %q: want an absolute path without a comma", l.field, i, p)
			}
		}
		if len(l.paths) > 0 {
			c.enable("mask")
			c.option("mask", l.key, strings.Join(l.paths, ","), l.field)
		}
	}
	return nil
}

// annotations: crun.plugins adds plugins, crun.opt.PLUGIN.KEY gives one
// an option. Others are the caller's metadata, as OCI has them; a
// crun.* one crun does not know is refused, as a likely typo.
func annotations(c *compiler) error {
	keys := make([]string, 0, len(c.spec.Annotations))
	for k := range c.spec.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := c.spec.Annotations[k]
		field := "annotations[" + k + "]"
		switch rest, opt := strings.CutPrefix(k, "crun.opt."); {
		case k == "crun.plugins":
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.enable(p)
				}
			}
		case opt:
			plugin, key, ok := strings.Cut(rest, ".")
			if !ok || plugin == "" || key == "" {
				return fmt.Errorf("%s: want crun.opt.PLUGIN.KEY", field)
			}
			c.option(plugin, key, v, field)
		case strings.HasPrefix(k, "crun."):
			return fmt.Errorf("%s: crun reads crun.plugins and crun.opt.PLUGIN.KEY only", field)
		}
	}
	return nil
}
