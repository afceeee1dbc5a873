// Package seccomp is the built-in seccomp plugin: a system call filter,
// Docker's default profile or one the user gives in the Docker/OCI JSON
// form, so that existing profiles work.
//
// Without it, root in the container can make every system call the
// kernel has: keyctl, bpf, perf_event_open, kexec_load, new user
// namespaces (unshare -U), open_by_handle_at (the "shocker" escape) and
// the rest of the kernel's less trodden paths. Docker's profile allows
// the 350-odd calls programs use and answers EPERM to the others.
//
// Docker's profile lets some calls through only with a capability (mount
// with CAP_SYS_ADMIN, for instance): the plugin resolves it for the
// capabilities the container keeps: the caps plugin's default set when
// caps is on (its add and drop options are not seen here: name the
// capabilities in -o seccomp.caps when they differ), every capability
// otherwise.
//
// Steps: one seccomp step in the restrict phase, after nnp (with
// no_new_privs the filter needs no privilege to load) and before user and
// caps, whose system calls the filter must then allow (Docker's does).
// crun compiles the filter before the clone; a system call this machine
// does not have is left out with a warning, as runc does.
package seccomp

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/crun-project/crun/plugins/caps"
	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Plugin is the seccomp plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "seccomp",
		Version: Version,
		Summary: "a system call filter: Docker's default profile, or one in the Docker/OCI JSON form",
		After:   []string{"nnp"},
		Before:  []string{"runas", "caps"},
		Options: []spec.Option{
			{Name: "profile", Type: spec.TypeString,
				Help: "a seccomp profile in the Docker/OCI JSON form (default: Docker's default profile)"},
			{Name: "caps", Type: spec.TypeString,
				Help: "the capabilities the container keeps, comma-separated, to resolve the profile's capability-dependent rules (default: the caps plugin's set when it is on, all otherwise)"},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	kept, err := keptCapabilities(req)
	if err != nil {
		return spec.Contribution{}, err
	}
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: kept}}}
	var profile *specs.LinuxSeccomp
	var c spec.Contribution
	source := "Docker's default profile"
	if path := req.Options["profile"]; path != "" {
		body, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("option profile: %w", err)
		}
		if profile, err = mobyseccomp.LoadProfile(string(body), rs); err != nil {
			return c, fmt.Errorf("option profile: %s: %w", path, err)
		}
		c.DependsOn = []string{path}
		source = path
	} else if profile, err = mobyseccomp.GetDefaultProfile(rs); err != nil {
		return c, fmt.Errorf("Docker's default profile: %w", err)
	}
	if profile.ListenerPath != "" {
		return c, fmt.Errorf("option profile: %s: a listener (SCMP_ACT_NOTIFY) needs an agent crun does not run", source)
	}
	step := Step(profile)
	c.Steps = []spec.Step{{Phase: spec.PhaseRestrict, Seccomp: step,
		Why: "system calls outside " + source + " fail (EPERM by default): the kernel's less trodden paths, " +
			"new user namespaces, keyctl, bpf, kexec_load, open_by_handle_at"}}
	return c, nil
}

// keptCapabilities are the capabilities the profile is resolved for.
func keptCapabilities(req spec.ContributeRequest) ([]string, error) {
	if list := req.Options["caps"]; list != "" {
		var kept []string
		for _, n := range strings.Split(list, ",") {
			i, err := spec.CapabilityNumber(strings.TrimSpace(n))
			if err != nil {
				return nil, fmt.Errorf("option caps: %w", err)
			}
			kept = append(kept, spec.CapabilityName(i))
		}
		return kept, nil
	}
	if slices.Contains(req.Plugins, "caps") {
		return caps.Default, nil
	}
	return spec.CapabilityNames(), nil
}

// Step turns a profile in the OCI form into the contract's seccomp step.
func Step(p *specs.LinuxSeccomp) *spec.Seccomp {
	s := &spec.Seccomp{DefaultAction: string(p.DefaultAction), DefaultErrno: errno(p.DefaultErrnoRet)}
	for _, a := range p.Architectures {
		s.Architectures = append(s.Architectures, string(a))
	}
	for _, f := range p.Flags {
		s.Flags = append(s.Flags, string(f))
	}
	for _, r := range p.Syscalls {
		rule := spec.SeccompRule{Names: r.Names, Action: string(r.Action), Errno: errno(r.ErrnoRet)}
		for _, a := range r.Args {
			rule.Args = append(rule.Args, spec.SeccompArg{Index: a.Index, Value: a.Value, ValueTwo: a.ValueTwo, Op: string(a.Op)})
		}
		s.Syscalls = append(s.Syscalls, rule)
	}
	return s
}

func errno(e *uint) *uint32 {
	if e == nil {
		return nil
	}
	v := uint32(*e)
	return &v
}
