// Package plan holds the plan of one run: the merged, validated
// contributions of every enabled plugin, as a plain serialisable value.
// `crun plan` prints it, the parent executes its host steps, and the child
// init receives it over a pipe and executes its child steps. It depends on
// nothing but sdk/spec, so the child init stays small.
package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// FormatVersion is the version of the plan's JSON form (crun plan --json).
const FormatVersion = 1

// Plan is everything crun will do for one run, in order.
type Plan struct {
	FormatVersion int    `json:"format_version"`
	ContainerID   string `json:"container_id"`
	// Plugins in execution order.
	Plugins []Plugin `json:"plugins"`
	// Namespaces is the union of the plugins' namespaces, in spec order;
	// they become the clone flags of the child.
	Namespaces []spec.Namespace `json:"namespaces"`
	// CloneFlags names the clone flags, e.g. CLONE_NEWNS.
	CloneFlags []string `json:"clone_flags"`
	// HostSteps are the host's actions, in the order they run: by point,
	// then plugin order (reverse plugin order at after-exit).
	HostSteps []HostStep `json:"host_steps"`
	// Steps are the child's actions, in the order they run.
	Steps []Step `json:"steps"`
	// Command is the argv to execute (Command[0] is looked up in the
	// container's PATH when it has no slash).
	Command []string `json:"command"`
	// Env is the command's whole environment.
	Env []string `json:"env"`
	// ReapingInit keeps crun's init as the parent of the command (see
	// spec.Contribution.ReapingInit).
	ReapingInit bool `json:"reaping_init"`
	// CloneIntoCgroup is the cgroup v2 directory the child is created in,
	// and CgroupPlugin the plugin that asked for it.
	CloneIntoCgroup string `json:"clone_into_cgroup,omitempty"`
	CgroupPlugin    string `json:"cgroup_plugin,omitempty"`
	// DependsOn are the host paths the contributions depend on (see
	// spec.Contribution.DependsOn); Uncacheable says a plugin did not opt
	// in (spec.Contribution.Cacheable), or opted out.
	DependsOn   []string `json:"depends_on,omitempty"`
	Uncacheable bool     `json:"uncacheable,omitempty"`
	// Warnings about legal but unsafe combinations.
	Warnings []Warning `json:"warnings"`
}

// ForChild is the part of the plan crun's init needs, which its wire form
// (EncodeForChild) carries: the namespaces, the
// steps (without their explanations), the command and its environment.
// Sending only that keeps what the init decodes, before its first step,
// small.
func (p *Plan) ForChild() *Plan {
	c := &Plan{FormatVersion: p.FormatVersion, ContainerID: p.ContainerID, Namespaces: p.Namespaces,
		Command: p.Command, Env: p.Env, ReapingInit: p.ReapingInit, Steps: make([]Step, len(p.Steps))}
	for i, s := range p.Steps {
		s.Why, s.Requires = "", nil
		c.Steps[i] = s
	}
	return c
}

// Plugin records who took part in the plan.
type Plugin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Origin says where the plugin came from: "built-in" or a path.
	Origin string `json:"origin"`
}

// Step is a child step with the plugin that asked for it.
type Step struct {
	Plugin string `json:"plugin"`
	spec.Step
}

// HostStep is a host step with the plugin that asked for it.
type HostStep struct {
	Plugin string `json:"plugin"`
	spec.HostStep
}

// Warning is a plugin's (or crun's) warning.
type Warning struct {
	Plugin  string `json:"plugin"`
	Message string `json:"message"`
}

// Contribution is one plugin's contribution, as input to Merge.
type Contribution struct {
	Plugin Plugin
	spec.Contribution
}

// cloneFlagNames maps namespaces to the names of their clone flags.
var cloneFlagNames = map[spec.Namespace]string{
	spec.NamespaceMount:  "CLONE_NEWNS",
	spec.NamespaceUTS:    "CLONE_NEWUTS",
	spec.NamespaceIPC:    "CLONE_NEWIPC",
	spec.NamespaceNet:    "CLONE_NEWNET",
	spec.NamespacePID:    "CLONE_NEWPID",
	spec.NamespaceUser:   "CLONE_NEWUSER",
	spec.NamespaceCgroup: "CLONE_NEWCGROUP",
}

// CloneFlagName returns the clone flag's name for a namespace.
func CloneFlagName(ns spec.Namespace) string { return cloneFlagNames[ns] }

// Input is what Merge needs besides the contributions.
type Input struct {
	ContainerID string
	Command     []string
	// BaseEnv is the environment before plugins add to it (crun's
	// defaults, or the host's when asked for).
	BaseEnv []string
	// UserEnv is --env: it wins over everything else.
	UserEnv []string
}

// Merge combines the contributions (in plugin order) into a plan and
// validates it as a whole. Nothing has run yet, so a refused plan needs
// no rollback.
func Merge(in Input, contributions []Contribution) (*Plan, error) {
	if len(in.Command) == 0 {
		return nil, fmt.Errorf("no command to run")
	}
	p := &Plan{
		FormatVersion: FormatVersion,
		ContainerID:   in.ContainerID,
		Command:       in.Command,
		Plugins:       []Plugin{},
		Namespaces:    []spec.Namespace{},
		CloneFlags:    []string{},
		HostSteps:     []HostStep{},
		Steps:         []Step{},
		Warnings:      []Warning{},
	}
	enabled := map[spec.Namespace]string{} // namespace -> first plugin that asked
	env := in.BaseEnv
	for _, c := range contributions {
		name := c.Plugin.Name
		if err := c.Contribution.Validate(); err != nil {
			return nil, fmt.Errorf("plugin %q returned an invalid contribution: %w", name, err)
		}
		p.Plugins = append(p.Plugins, c.Plugin)
		for _, ns := range c.Namespaces {
			if _, ok := enabled[ns]; !ok {
				enabled[ns] = name
			}
		}
		for _, s := range c.Steps {
			p.Steps = append(p.Steps, Step{Plugin: name, Step: s})
		}
		for _, h := range c.HostSteps {
			p.HostSteps = append(p.HostSteps, HostStep{Plugin: name, HostStep: h})
		}
		env = mergeEnv(env, c.Env)
		p.ReapingInit = p.ReapingInit || c.ReapingInit
		p.DependsOn = append(p.DependsOn, c.DependsOn...)
		p.Uncacheable = p.Uncacheable || c.Uncacheable || !c.Cacheable
		if c.CloneIntoCgroup != "" {
			if p.CloneIntoCgroup != "" {
				return nil, fmt.Errorf("plugins %q and %q both ask to create the child in a cgroup (%s, %s): enable only one",
					p.CgroupPlugin, name, p.CloneIntoCgroup, c.CloneIntoCgroup)
			}
			p.CloneIntoCgroup, p.CgroupPlugin = c.CloneIntoCgroup, name
		}
		for _, w := range c.Warnings {
			p.Warnings = append(p.Warnings, Warning{Plugin: name, Message: w})
		}
	}
	p.Env = mergeEnv(env, in.UserEnv)

	for _, ns := range spec.Namespaces() {
		if _, ok := enabled[ns]; ok {
			p.Namespaces = append(p.Namespaces, ns)
			p.CloneFlags = append(p.CloneFlags, cloneFlagNames[ns])
		}
	}
	if err := checkNamespaces(p.Steps, enabled); err != nil {
		return nil, err
	}
	if err := checkIDMaps(p, enabled); err != nil {
		return nil, err
	}

	// Phases order the child steps; the sort is stable, so plugin order
	// and each plugin's own order hold within a phase.
	phases := spec.Phases()
	sort.SliceStable(p.Steps, func(i, j int) bool {
		return phaseIndex(phases, p.Steps[i].Phase) < phaseIndex(phases, p.Steps[j].Phase)
	})
	p.HostSteps = orderHostSteps(p.HostSteps)
	return p, nil
}

// checkNamespaces refuses a step that needs a namespace no plugin enabled:
// run anyway, it would change the host (sethostname would rename the
// machine, pivot_root would move the host's root).
func checkNamespaces(steps []Step, enabled map[spec.Namespace]string) error {
	for _, s := range steps {
		need := append(append([]spec.Namespace{}, s.Requires...), s.ImpliedNamespaces()...)
		for _, ns := range need {
			if _, ok := enabled[ns]; ok {
				continue
			}
			action, _ := s.Action()
			return fmt.Errorf("plugin %q: step %s needs the %s namespace, which no enabled plugin provides: "+
				"add the plugin that provides it (e.g. %s) to --plugins", s.Plugin, action, ns, ns)
		}
	}
	return nil
}

// checkIDMaps refuses an id map without a user namespace, and a user
// change to ids the user namespace's map leaves out (the kernel would
// refuse it in the child, after the namespaces exist).
func checkIDMaps(p *Plan, enabled map[spec.Namespace]string) error {
	var idmap *HostStep
	for i, h := range p.HostSteps {
		if h.IDMap == nil {
			continue
		}
		if _, ok := enabled[spec.NamespaceUser]; !ok {
			return fmt.Errorf("plugin %q: host step id_map needs the user namespace, which no enabled plugin provides: "+
				"add the user plugin to --plugins", h.Plugin)
		}
		if idmap != nil {
			return fmt.Errorf("plugins %q and %q both map the user namespace's ids: the kernel takes one map; enable only one",
				idmap.Plugin, h.Plugin)
		}
		idmap = &p.HostSteps[i]
	}
	if idmap == nil {
		return nil
	}
	mapped := func(ranges []spec.IDRange, id uint32) bool {
		for _, r := range ranges {
			if id >= r.Container && uint64(id) < uint64(r.Container)+uint64(r.Size) {
				return true
			}
		}
		return false
	}
	for _, s := range p.Steps {
		u := s.SetUser
		if u == nil {
			continue
		}
		what, id, maps := "uid", u.UID, idmap.IDMap.UIDs
		if mapped(maps, id) {
			what, maps = "gid", idmap.IDMap.GIDs
			for _, g := range append([]uint32{u.GID}, u.Groups...) {
				if id = g; !mapped(maps, id) {
					break
				}
			}
		}
		if !mapped(maps, id) {
			return fmt.Errorf("plugin %q: step set_user: %s %d is not mapped in the user namespace (plugin %q maps %ss %s, "+
				"container:host:count): choose a mapped %s, or map it (-o user.map=...)",
				s.Plugin, what, id, idmap.Plugin, what, spec.FormatIDRanges(maps), what)
		}
	}
	return nil
}

// orderHostSteps sorts host steps by point; after-exit steps run in
// reverse plugin order, so that cleanup mirrors setup.
func orderHostSteps(steps []HostStep) []HostStep {
	var out []HostStep
	for _, point := range spec.HookPoints() {
		var at []HostStep
		for _, h := range steps {
			if h.Point == point {
				at = append(at, h)
			}
		}
		if point == spec.HookAfterExit {
			reverseByPlugin(at)
		}
		out = append(out, at...)
	}
	if out == nil {
		out = []HostStep{}
	}
	return out
}

// reverseByPlugin reverses the order of plugins while keeping each
// plugin's own steps in the order it gave them.
func reverseByPlugin(steps []HostStep) {
	var groups [][]HostStep
	for i, h := range steps {
		if i == 0 || steps[i-1].Plugin != h.Plugin {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], h)
	}
	i := 0
	for g := len(groups) - 1; g >= 0; g-- {
		for _, h := range groups[g] {
			steps[i] = h
			i++
		}
	}
}

func phaseIndex(phases []spec.Phase, p spec.Phase) int {
	for i, q := range phases {
		if q == p {
			return i
		}
	}
	return len(phases)
}

// mergeEnv adds KEY=VALUE pairs to env; a later key replaces an earlier
// one in place.
func mergeEnv(env, add []string) []string {
	out := append([]string{}, env...)
	for _, kv := range add {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if k, _, _ := strings.Cut(old, "="); k == key {
				out[i] = kv
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// Validate checks a plan that did not come from Merge (a cached one):
// the same checks, so that a corrupt or forged entry cannot run a step
// crun would have refused.
func (p *Plan) Validate() error {
	if len(p.Command) == 0 {
		return fmt.Errorf("no command to run")
	}
	enabled := map[spec.Namespace]string{}
	for _, ns := range p.Namespaces {
		if !spec.KnownNamespace(ns) {
			return fmt.Errorf("unknown namespace %q", ns)
		}
		enabled[ns] = ""
	}
	for i, s := range p.Steps {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	for i, h := range p.HostSteps {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("host step %d: %w", i+1, err)
		}
	}
	return checkNamespaces(p.Steps, enabled)
}

// Has reports whether the plan clones into the namespace.
func (p *Plan) Has(ns spec.Namespace) bool {
	for _, n := range p.Namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// Encode returns the plan's JSON form.
func (p *Plan) Encode() ([]byte, error) { return json.Marshal(p) }

// Decode reads a plan from its JSON form.
func Decode(b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan format %d, this crun reads %d", p.FormatVersion, FormatVersion)
	}
	return &p, nil
}
