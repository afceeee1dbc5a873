package main

import (
	"context"
	"slices"

	"github.com/crun-project/crun/sdk/spec"
)

// IPC is the ipc plugin: a new IPC namespace for the container.
//
// What it isolates: System V IPC, the shared memory segments, semaphore
// sets and message queues that ipcs lists, and POSIX message queues. The
// container sees none of the host's objects (a segment the host made is
// not in its ipcs -m, and cannot be attached by id), and the kernel frees
// what the container makes when its last process exits, instead of
// leaving it on the host.
//
// What it requires: nothing. It does not cover POSIX shared memory
// (shm_open), which is files in the tmpfs at /dev/shm: file systems are
// the mount namespace's business. Without the chroot plugin, which mounts
// a /dev/shm of the container's own, the container shares the host's, and
// the plugin warns. For the same reason a /dev/mqueue mounted on the host
// still lists the host's POSIX queues, though mq_open reaches only the
// container's.
//
// When its steps run: it has none. The namespace is a clone flag
// (CLONE_NEWIPC), so the container is in it from its first instruction,
// before any step.
type IPC struct{}

const version = "0.1.0"

// Describe implements sdk.Plugin.
func (IPC) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "ipc",
		Version: version,
		Summary: "new IPC namespace: System V IPC and POSIX message queues of the container's own",
	}, nil
}

// Contribute implements sdk.Plugin.
func (IPC) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	c := spec.Contribution{Namespaces: []spec.Namespace{spec.NamespaceIPC}}
	if !slices.Contains(req.Plugins, "chroot") {
		c.Warnings = append(c.Warnings, "POSIX shared memory (shm_open) is files in /dev/shm, which the IPC namespace "+
			"does not cover: without chroot, which mounts a /dev/shm of the container's own, the host's is shared")
	}
	c.Cacheable = true // a function of the request alone
	return c, nil
}
