package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"

	"github.com/crun-project/crun/sdk/spec"
)

// Secrets is the secrets plugin: host files the command reads at
// /run/secrets/NAME, given as -o secrets.NAME=FILE, and never through its
// environment.
//
// What it isolates: secrets, from the container's environment and from
// the host's mount table. The environment is the wrong place for a
// secret: /proc/PID/environ shows it to the host for as long as the
// process lives, and every child inherits it. Here the content never
// travels in the plan, in argv or in the environment: only FILE's path
// does, and crun's init copies the content into a tmpfs of the
// container's own (mode 0700, nosuid, nodev, noexec, 1 MiB), as a file of
// mode 0400.
//
// What it requires: nothing, but it should run with mnt. Without mnt the
// tmpfs is mounted in the host's mount namespace, where the secrets are
// visible on the host while the container runs (crun unmounts it at exit),
// and the plugin warns. Without chroot, the tmpfs covers /run/secrets of
// the host's tree, which crun creates (empty) if it is missing. With
// chroot the tmpfs must land inside the container's root: crun tells
// plugins the rootfs (ContributeRequest.Facts["chroot.rootfs"], plugin
// protocol 2).
//
// When its steps run: in the mount phase, before the root switch, because
// crun's init reads FILE when the step runs, and after the switch the
// host's file is out of reach. It runs before chroot, so that its tmpfs is
// already in the rootfs when chroot binds the rootfs onto itself (and
// before chroot's --read-only remount makes the rootfs unwritable).
type Secrets struct{}

const version = "0.1.0"

// Where the secrets are, in the container, and how big their tmpfs is.
const (
	secretsDir  = "/run/secrets"
	tmpfsSize   = 1 << 20
	tmpfsData   = "mode=0700,size=1m"
	tmpfsSource = "secrets" // what mount and mountinfo show as the source
)

// Describe implements sdk.Plugin.
func (Secrets) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "secrets",
		Version: version,
		Summary: "secret files at /run/secrets/NAME (-o secrets.NAME=FILE) in a private tmpfs, never in the environment",
		Options: []spec.Option{
			// crun takes any key for AnyKey (if it is a valid name, and
			// not another option's name), so the user names the secrets.
			{Name: spec.AnyKey, Type: spec.TypeString,
				Help: "a secret: -o secrets.NAME=FILE copies the host's FILE (an absolute path) to /run/secrets/NAME, mode 0400"},
		},
		After:  []string{"mnt"},
		Before: []string{"chroot"},
	}, nil
}

// secret is one -o secrets.NAME=FILE.
type secret struct {
	name, file string
}

// Contribute implements sdk.Plugin.
func (Secrets) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	root, err := rootfs(req)
	if err != nil {
		return spec.Contribution{}, err
	}
	secrets, err := parseSecrets(req.Options)
	if err != nil {
		return spec.Contribution{}, err
	}
	// A function of the request, the rootfs and the secret files, all in
	// DependsOn: crun may reuse it while they are unchanged.
	c := spec.Contribution{Cacheable: true}
	if len(secrets) == 0 {
		c.Warnings = append(c.Warnings, "no secrets given: -o secrets.NAME=FILE adds one")
		return c, nil
	}
	c.Steps = append(c.Steps, spec.Step{
		Phase: spec.PhaseMount,
		Mount: &spec.Mount{
			Source: tmpfsSource, Target: secretsDir, FSType: "tmpfs",
			Flags: []string{"nosuid", "nodev", "noexec"}, Data: tmpfsData,
			CreateTarget: true, Root: root,
		},
		Why: "a tmpfs for the secrets: in memory, never on disk, readable only by root",
	})
	if root != "" {
		c.DependsOn = append(c.DependsOn, root)
	}
	for _, s := range secrets {
		// The plan was checked against the file: crun reuses a cached
		// plan only while it is the same file.
		c.DependsOn = append(c.DependsOn, s.file)
		c.Steps = append(c.Steps, spec.Step{
			Phase: spec.PhaseMount,
			CopyFile: &spec.CopyFile{
				Source: s.file, Target: path.Join(secretsDir, s.name), Root: root, Mode: 0o400,
			},
			Why: "copied by crun's init before the root switch: only the path travels in the plan, never the content",
		})
	}
	if !slices.Contains(req.Plugins, "mnt") {
		c.Warnings = append(c.Warnings, "without the mnt plugin the tmpfs at "+secretsDir+
			" is mounted in the host's mount namespace: the secrets are visible on the host while the container runs; add mnt")
	}
	return c, nil
}

// rootfs is where the secrets must land: with the chroot plugin, inside
// the rootfs, which crun tells plugins (protocol 2's facts: chroot's
// public rootfs option); without it, in the host's tree ("").
func rootfs(req spec.ContributeRequest) (string, error) {
	if !slices.Contains(req.Plugins, "chroot") {
		return "", nil
	}
	if !req.Supports(spec.FeatureFacts) {
		return "", fmt.Errorf("with the chroot plugin this plugin needs the rootfs, and this crun does not tell plugins "+
			"(it speaks plugin protocol %d): upgrade crun", max(req.Protocol, 1))
	}
	root := req.Facts["chroot.rootfs"]
	switch {
	case root == "":
		return "", fmt.Errorf("the chroot plugin has no rootfs: give --rootfs")
	case !path.IsAbs(root):
		return "", fmt.Errorf("the rootfs %q: want an absolute path", root)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("the rootfs: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("the rootfs %s: not a directory", root)
	}
	return path.Clean(root), nil
}

// parseSecrets reads every option as a secret, in name order so
// that plans are stable. Only FILE's metadata is read: the content is
// crun's init's to copy.
func parseSecrets(opts map[string]string) ([]secret, error) {
	var secrets []secret
	var total int64
	page := int64(os.Getpagesize())
	for name, file := range opts {
		// crun never passes AnyKey itself, but a host filling in declared
		// defaults (sdktest.Conformance does) may.
		if name == spec.AnyKey {
			continue
		}
		if err := spec.ValidName(name); err != nil {
			return nil, fmt.Errorf("secret name: %w", err)
		}
		if file == "" {
			return nil, fmt.Errorf("secret %q: no file: give -o secrets.%s=FILE", name, name)
		}
		if !path.IsAbs(file) {
			return nil, fmt.Errorf("secret %q: file %q: want an absolute path", name, file)
		}
		fi, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", name, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("secret %q: %s is not a regular file", name, file)
		}
		// A tmpfs gives every file at least one page.
		total += max(page, (fi.Size()+page-1)/page*page)
		secrets = append(secrets, secret{name: name, file: file})
	}
	if total > tmpfsSize {
		return nil, fmt.Errorf("the secrets take %d KiB, more than the %d KiB tmpfs at %s holds", total>>10, tmpfsSize>>10, secretsDir)
	}
	sort.Slice(secrets, func(i, j int) bool { return secrets[i].name < secrets[j].name })
	return secrets, nil
}
