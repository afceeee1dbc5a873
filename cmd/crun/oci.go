package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/core/oci"
)

// bundleFlags are the flags that build a request from the command line:
// with --bundle, config.json says all of that, and the flag is refused
// rather than merged (annotations crun.plugins and crun.opt.PLUGIN.KEY
// add plugins and options).
var bundleFlags = []string{"plugins", "hostname", "rootfs", "workdir", "tmpfs", "bind", "read-only",
	"pids-max", "memory", "cpus", "user", "group-add", "opt", "env", "host-env"}

// bundleRequest compiles BUNDLE/config.json into the request of run or
// plan --bundle; the one argument it takes is the container's id (OCI's
// run ID), which --name gives too.
func bundleRequest(verb string, o *options, args []string) (core.Request, error) {
	for _, f := range bundleFlags {
		if o.changed(f) {
			return core.Request{}, fmt.Errorf("%s --bundle: --%s: config.json in the bundle says that (annotations crun.plugins and crun.opt.PLUGIN.KEY add plugins and options)", verb, f)
		}
	}
	if len(args) > 1 {
		return core.Request{}, fmt.Errorf("%s --bundle %s: want at most one argument, the container's id (the command is config.json's process.args)", verb, o.bundle)
	}
	s, _, err := oci.Load(o.bundle)
	if err != nil {
		return core.Request{}, err
	}
	req, err := oci.Compile(o.bundle, s)
	if err != nil {
		return core.Request{}, err
	}
	req.ContainerID = o.name
	if len(args) == 1 {
		if o.name != "" && o.name != args[0] {
			return req, fmt.Errorf("%s --bundle: the id %s and --name %s differ: give one", verb, args[0], o.name)
		}
		req.ContainerID = args[0]
	}
	req.Trace = o.trace
	if err := runFlags(o, &req); err != nil {
		return req, err
	}
	return req, nil
}

// cmdFeatures prints what crun accepts in config.json, in runtime-spec's
// features.md form (runc features).
func cmdFeatures(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "crun: features takes no arguments\n")
		return core.ExitCrunFailed
	}
	data, err := json.MarshalIndent(oci.Features(), "", "    ")
	if err != nil {
		fmt.Fprintf(stderr, "crun: features: %v\n", err)
		return core.ExitCrunFailed
	}
	fmt.Fprintf(stdout, "%s\n", data)
	return 0
}

// cmdSpec writes a default config.json into the bundle directory (the
// current one unless --bundle), as runc spec does, and never over one.
func cmdSpec(o *options, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "crun: spec takes no arguments: crun spec [--bundle DIR] [--rootfs DIR]\n")
		return core.ExitCrunFailed
	}
	bundle, rootfs := o.bundle, o.rootfs
	if bundle == "" {
		bundle = "."
	}
	if rootfs == "" {
		rootfs = "rootfs"
	}
	if err := writeSpec(filepath.Join(bundle, oci.ConfigFile), rootfs); err != nil {
		fmt.Fprintf(stderr, "crun: spec: %v\n", err)
		return core.ExitCrunFailed
	}
	return 0
}

func writeSpec(file, rootfs string) error {
	data, err := json.MarshalIndent(oci.Default(rootfs), "", "\t")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: crun spec does not overwrite it (remove it first)", file)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	return f.Close()
}
