package oci

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crun-project/crun/core"
)

// Compile turns a bundle's config.json into the request crun's own
// command line would make: plugins, their options, the command and its
// environment. Relative paths in it (root.path, a bind mount's source)
// are the bundle's. The request has no container id: the caller's.
func Compile(bundle string, s *specs.Spec) (core.Request, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return core.Request{}, fmt.Errorf("bundle %s: %w", bundle, err)
	}
	if err := unsupported(s); err != nil {
		return core.Request{}, err
	}
	c := &compiler{bundle: abs, spec: s}
	for _, r := range rules {
		if err := r.compile(c); err != nil {
			return core.Request{}, fmt.Errorf("%s: %w", ConfigFile, err)
		}
	}
	if err := c.finish(); err != nil {
		return core.Request{}, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return c.req, nil
}

// unsupported refuses the set fields no rule covers, naming the first
// and counting the others.
func unsupported(s *specs.Spec) error {
	var left []string
	for _, f := range setFields(s) {
		if !slices.ContainsFunc(rules, func(r rule) bool {
			return slices.ContainsFunc(r.fields, func(rf string) bool { return covers(rf, f) })
		}) {
			left = append(left, f)
		}
	}
	switch len(left) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s: %s: crun does not implement it yet", ConfigFile, left[0])
	default:
		return fmt.Errorf("%s: %s: crun does not implement it yet (nor %s)", ConfigFile, left[0], strings.Join(left[1:], ", "))
	}
}

// compiler collects the request as the rules add to it.
type compiler struct {
	bundle string
	spec   *specs.Spec
	req    core.Request
	// namespaces holds the ones config.json asks for, by OCI type.
	// denyAllDevices: linux.resources.devices denies all, which the
	// chroot plugin's nodev gives.
	denyAllDevices bool
}

// enable adds plugins, each once, in the order first asked.
func (c *compiler) enable(names ...string) {
	for _, n := range names {
		if !slices.Contains(c.req.Plugins, n) {
			c.req.Plugins = append(c.req.Plugins, n)
		}
	}
}

// option gives a plugin an option, saying in messages which field of
// config.json it came from.
func (c *compiler) option(plugin, key, value, field string) {
	c.req.Options = append(c.req.Options, core.Option{Plugin: plugin, Key: key, Value: value, Flag: ConfigFile + " " + field})
}

func (c *compiler) hasOption(plugin, key string) bool {
	return slices.ContainsFunc(c.req.Options, func(o core.Option) bool { return o.Plugin == plugin && o.Key == key })
}

// finish makes the checks that span fields.
func (c *compiler) finish() error {
	// The cgroup plugin's own default is a limit of processes; OCI's is
	// none.
	if slices.Contains(c.req.Plugins, "cgroup") && !c.hasOption("cgroup", "pids-max") {
		c.option("cgroup", "pids-max", "max", "linux.resources.pids.limit")
	}
	if c.denyAllDevices && !c.namespace(specs.MountNamespace) {
		return errors.New("linux.resources.devices denies all devices, which crun does by mounting the rootfs nodev: that needs a mount namespace in linux.namespaces")
	}
	if c.denyAllDevices && slices.ContainsFunc(c.req.Options, func(o core.Option) bool {
		return o.Plugin == "chroot" && o.Key == "nodev" && o.Value != "true"
	}) {
		return errors.New("linux.resources.devices denies all devices, which crun does with chroot.nodev: the annotation crun.opt.chroot.nodev turns it off")
	}
	return nil
}
