package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/core/rootfs"
)

const rootfsUsage = `Usage:
  crun rootfs create [--busybox PATH] DIR
      make a minimal root file system in DIR from a static busybox
      (apt-get install busybox-static)
  crun rootfs import [--platform OS/ARCH] SRC DIR
      unpack SRC into DIR: a root file system tarball, plain or gzip (an
      Alpine minirootfs, a docker export), or an OCI image layout directory
      (layers applied in order, whiteouts honoured). Entries that would
      escape DIR are refused. All or nothing: a failed import leaves DIR
      as it was.

Then: crun --plugins uts,pid,mnt,chroot --rootfs DIR run sh
`

func cmdRootfs(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("crun rootfs", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	busybox := fs.String("busybox", "", "create: the static busybox to use (default: found on the host)")
	platform := fs.String("platform", "", "import: the platform to pick from a multi-platform OCI image (default: this machine's)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "crun: rootfs: %v\n%s", err, rootfsUsage)
		return core.ExitCrunFailed
	}
	rest := fs.Args()
	if *help {
		fmt.Fprint(stdout, rootfsUsage)
		return 0
	}
	switch {
	case len(rest) == 2 && rest[0] == "create":
		if err := rootfs.Create(rest[1], rootfs.CreateOptions{Busybox: *busybox}); err != nil {
			fmt.Fprintf(stderr, "crun: rootfs create: %v\n", err)
			return core.ExitCrunFailed
		}
		fmt.Fprintf(stdout, "created a busybox root file system in %s\n", rest[1])
		return 0
	case len(rest) == 3 && rest[0] == "import":
		report, err := rootfs.Import(rest[1], rest[2], rootfs.ImportOptions{Platform: *platform})
		if err != nil {
			fmt.Fprintf(stderr, "crun: rootfs import: %v\n", err)
			return core.ExitCrunFailed
		}
		fmt.Fprintf(stdout, "imported %s into %s: %d layer(s), %d entries, %d whiteouts\n",
			rest[1], rest[2], report.Layers, report.Entries, report.Whiteouts)
		return 0
	}
	fmt.Fprintf(stderr, "crun: rootfs: want create DIR or import SRC DIR\n%s", rootfsUsage)
	return core.ExitCrunFailed
}
