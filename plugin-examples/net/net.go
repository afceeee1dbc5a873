package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// Net is the net plugin: a network namespace of the container's own, with
// only a loopback interface, and that one up.
//
// What it isolates: the network. The container sees no host interface, no
// host route and no host socket; it can talk to itself over 127.0.0.1 and
// to nothing else (connecting it to the outside, with a veth pair, say, is
// a job for a bigger plugin).
//
// What it requires: nothing. The namespace is a clone flag (CLONE_NEWNET).
//
// When its steps run: a new network namespace starts with lo down, and
// crun's init has no step to bring an interface up, so this plugin does it
// with a live hook: at after-clone, while crun's init waits in its new
// namespaces, crun calls Hook with the init's host pid, and the plugin
// enters the namespace from the host and sets lo up. The container's
// command starts after the hook returns, so it never sees lo down.
type Net struct{}

const version = "0.1.0"

// hookName tells the hook's calls apart, should the plugin ever have more
// than one.
const hookName = "loopback-up"

// Describe implements sdk.Plugin.
func (Net) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "net",
		Version: version,
		Summary: "new network namespace: no host interfaces, loopback up",
		// Without this declaration crun refuses the hook step, and stops
		// the plugin's process once the plan is made.
		Hooks: []spec.HookPoint{spec.HookAfterClone},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Net) Contribute(context.Context, spec.ContributeRequest) (spec.Contribution, error) {
	return spec.Contribution{
		Namespaces: []spec.Namespace{spec.NamespaceNet},
		HostSteps: []spec.HostStep{{
			Point: spec.HookAfterClone,
			Hook:  &spec.Hook{Name: hookName},
			Why:   "a new network namespace starts with lo down: bring it up from the host while the container waits",
		}},
	}, nil
}

// Hook implements sdk.Hooker: it brings up lo in the network namespace of
// req.Pid, the container's init, waiting at after-clone.
func (Net) Hook(_ context.Context, req spec.HookRequest) error {
	if req.Point != spec.HookAfterClone || req.Name != hookName {
		return fmt.Errorf("no hook %q at %s: this plugin has only %q at %s", req.Name, req.Point, hookName, spec.HookAfterClone)
	}
	if req.Pid <= 0 {
		return fmt.Errorf("hook %s: no container pid (%d)", hookName, req.Pid)
	}
	return loopbackUp(req.Pid)
}

// loopbackUp sets IFF_UP on lo in the network namespace of pid.
//
// setns changes the namespace of the calling thread only, and the Go
// runtime moves goroutines between threads: the goroutine is locked to its
// thread for as long as the thread is in the container's namespace, so
// that neither this code runs elsewhere nor other goroutines run in the
// container's namespace. If the thread cannot return to the plugin's own
// namespace it stays locked, and the runtime ends it when the goroutine
// returns, rather than reuse a thread in the wrong namespace.
func loopbackUp(pid int) (err error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open the plugin's own network namespace: %w", err)
	}
	defer home.Close()
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open the network namespace of pid %d: %w", pid, err)
	}
	defer target.Close()

	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter the network namespace of pid %d: %w", pid, err)
	}
	defer func() {
		if backErr := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); backErr != nil {
			err = errors.Join(err, fmt.Errorf("return to the plugin's own network namespace: %w", backErr))
			return // the thread stays locked, and dies with the goroutine
		}
		runtime.UnlockOSThread()
	}()
	return setUp("lo")
}

// setUp sets IFF_UP on an interface of the calling thread's network
// namespace; a socket is what the interface ioctls need, and it belongs to
// the namespace it was created in.
func setUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fmt.Errorf("interface %s: %w", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get the flags of %s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}
