// Command testkit is a third-party crun plugin for crun's own tests. One
// binary plays several plugins: it is installed as crun-plugin-NAME and
// behaves according to NAME.
//
//	tmpfs     mounts a tmpfs at -o tmpfs.path=DIR (a well-behaved plugin)
//	crash     panics in Contribute
//	nostep    returns a step without any action (an unknown step kind)
//	needsnet  returns a step that requires the net namespace, which it
//	          does not ask for
//	latetmpfs mounts a tmpfs at -o latetmpfs.path=DIR in the configure
//	          phase, after any root switch
//	exitstart exits before serving
//	garbage   writes garbage to stdout, where the handshake belongs
//	hang      never answers Contribute
//	slow      answers Contribute only once the file -o slow.wait=FILE is
//	          gone (at once when there is none), and makes FILE.waiting
//	          when it starts waiting; its answer is never cached
//	future    speaks plugin protocol 99, which crun does not
//	stuck     copies the FIFO -o stuck.fifo=FILE into the container: the
//	          step blocks until something writes to the FIFO
//	exithook  has an after-exit live hook, which appends "NAME ID POINT"
//	          to -o exithook.file=FILE (a plugin that must clean up on the
//	          host, as CNI's DEL does), once -o exithook.hold=FILE is gone
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/crun-project/crun/sdk"
	"github.com/crun-project/crun/sdk/spec"
)

type testPlugin struct{ name string }

func (p testPlugin) Describe(context.Context) (spec.Description, error) {
	d := spec.Description{Name: p.name, Version: "0.0.1", Summary: "crun test plugin (" + p.name + ")"}
	if p.name == "slow" {
		d.Options = []spec.Option{{Name: "wait", Type: spec.TypeString, Default: "/nonexistent", Help: "answer once this file is gone"}}
	}
	if p.name == "exithook" {
		d.Options = []spec.Option{{Name: "file", Type: spec.TypeString, Default: "/nonexistent/file", Help: "where the hook writes"},
			{Name: "hold", Type: spec.TypeString, Default: "/nonexistent", Help: "the hook waits while this file exists"}}
		d.Hooks = []spec.HookPoint{spec.HookAfterExit}
	}
	if p.name == "stuck" {
		d.Options = []spec.Option{{Name: "fifo", Type: spec.TypeString, Default: "/nonexistent", Help: "the FIFO the step reads"}}
	}
	if p.name == "tmpfs" || p.name == "latetmpfs" {
		d.Options = []spec.Option{{Name: "path", Type: spec.TypeString, Default: "/mnt/container_mnt", Help: "where to mount the tmpfs"}}
		d.After = []string{"mnt"}
	}
	return d, nil
}

func (p testPlugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	switch p.name {
	case "tmpfs":
		return spec.Contribution{Cacheable: true, Steps: []spec.Step{{
			Phase: spec.PhaseMount,
			Mount: &spec.Mount{Source: "crun_test_tmpfs", Target: req.Options["path"], FSType: "tmpfs", CreateTarget: true},
		}}}, nil
	case "latetmpfs":
		return spec.Contribution{Cacheable: true, Steps: []spec.Step{{
			Phase: spec.PhaseConfigure,
			Mount: &spec.Mount{Source: "crun_test_late", Target: req.Options["path"], FSType: "tmpfs", CreateTarget: true},
		}}}, nil
	case "crash":
		panic("testkit: crash plugin panics in Contribute, as asked")
	case "nostep":
		return spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseMount}}}, nil
	case "hang":
		select {}
	case "slow":
		// Say that it waits: tests act while crun is planning.
		os.WriteFile(req.Options["wait"]+".waiting", nil, 0o600)
		for {
			if _, err := os.Stat(req.Options["wait"]); err != nil {
				return spec.Contribution{Uncacheable: true}, nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	case "stuck":
		fifo := req.Options["fifo"]
		return spec.Contribution{Uncacheable: true, Steps: []spec.Step{{
			Phase:    spec.PhaseMount,
			CopyFile: &spec.CopyFile{Source: fifo, Root: filepath.Dir(fifo), Target: "/copy", Mode: 0o600},
		}}}, nil
	case "exithook":
		// At debug level: shown by crun --log-level debug only.
		sdk.Logger().Debug("exithook contributes a hook", "file", req.Options["file"])
		return spec.Contribution{HostSteps: []spec.HostStep{{Point: spec.HookAfterExit, Hook: &spec.Hook{Name: "record"}}}}, nil
	case "needsnet":
		return spec.Contribution{Steps: []spec.Step{{
			Phase:    spec.PhaseConfigure,
			Requires: []spec.Namespace{spec.NamespaceNet},
			Chdir:    &spec.Chdir{Path: "/"},
		}}}, nil
	}
	return spec.Contribution{}, fmt.Errorf("testkit does not know plugin %q", p.name)
}

// Hook implements sdk.Hooker (for exithook).
func (p testPlugin) Hook(_ context.Context, req spec.HookRequest) error {
	if p.name != "exithook" {
		return fmt.Errorf("testkit plugin %q has no hooks", p.name)
	}
	for {
		if _, err := os.Stat(req.Options["hold"]); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	f, err := os.OpenFile(req.Options["file"], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "%s %s %s\n", req.Name, req.ContainerID, req.Point)
	return f.Close()
}

func main() {
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "crun-plugin-")
	switch name {
	case "exitstart":
		fmt.Fprintln(os.Stderr, "testkit: exitstart exits at start, as asked")
		os.Exit(3)
	case "garbage":
		fmt.Println("this is not a go-plugin handshake")
	case "future":
		serveFuture()
		return
	}
	sdk.Serve(testPlugin{name: name})
}

// serveFuture answers the go-plugin handshake as a plugin built for
// protocol 99 would (the handshake's other values, literal, are those of
// protocol 1). crun must refuse it there, before any call, so it serves
// no service at all.
func serveFuture() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  99,
			MagicCookieKey:   "CRUN_PLUGIN_MAGIC_COOKIE",
			MagicCookieValue: "a8d3b0e6c1f94e2a9d7b5c3f1e0a2b4c",
		},
		VersionedPlugins: map[int]plugin.PluginSet{99: {"crun-planner": futurePlanner{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

// futurePlanner is the go-plugin plugin of a protocol crun does not know.
type futurePlanner struct{ plugin.NetRPCUnsupportedPlugin }

func (futurePlanner) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (futurePlanner) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, fmt.Errorf("a plugin has no client side")
}
