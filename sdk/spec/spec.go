// Package spec is the data half of the crun plugin contract: what a plugin
// says about itself (Description), what it is asked (ContributeRequest) and
// what it answers (Contribution). It has no dependencies beyond the
// standard library, so that crun's child init, which executes these values,
// does not link the RPC machinery.
//
// Every type here travels as JSON between crun and its plugins; the field
// names in the json tags are part of the wire contract, versioned by
// ProtocolVersion.
package spec

import (
	"reflect"
	"slices"
	"strings"
)

// ProtocolVersion is the version of the plugin contract this sdk speaks.
// It is negotiated in the go-plugin handshake: crun offers every version
// it speaks, a plugin serves every version its sdk speaks, and the
// highest both know is used; with none in common crun refuses the plugin,
// naming both sides' versions. Bump it on any change that an older peer
// would misread.
//
//	1  the first contract.
//	2  ContributeRequest gains Protocol, Features, Facts and Lists;
//	   Option gains Public; Mount gains IfExists; Contribution gains
//	   Cacheable (caching becomes the plugin's explicit choice). A plugin built
//	   against version 1 keeps working: crun speaks both, and the fields
//	   a version 1 plugin does not know are ones it never has to read.
const ProtocolVersion = 2

// OldestProtocolVersion is the oldest version crun and this sdk still
// speak.
const OldestProtocolVersion = 1

// Description is a plugin's answer to Describe: who it is, what it accepts
// and where it must run relative to other plugins.
type Description struct {
	// Name is the plugin's name, as users type it in --plugins. It must
	// match the name crun resolved (for a third-party plugin, the NAME in
	// crun-plugin-NAME).
	Name string `json:"name"`
	// Version is the plugin's own version, free-form (e.g. "1.2.0").
	Version string `json:"version"`
	// Summary is one line saying what the plugin isolates.
	Summary string `json:"summary"`
	// Options lists every option the plugin accepts, as -o NAME.KEY=VALUE.
	// crun rejects any other key before contacting the plugin again.
	Options []Option `json:"options,omitempty"`
	// After lists plugins that, when enabled, must come before this one.
	After []string `json:"after,omitempty"`
	// Before lists plugins that, when enabled, must come after this one.
	Before []string `json:"before,omitempty"`
	// Requires lists plugins that must be enabled whenever this one is.
	Requires []string `json:"requires,omitempty"`
	// Hooks lists the host points at which the plugin wants its Hook
	// method called with the container's pid (a "live" hook: plugin code
	// running while the child waits). A plugin without hooks is a pure
	// planner.
	Hooks []HookPoint `json:"hooks,omitempty"`
}

// OptionType says how crun validates an option's value before the plugin
// sees it.
type OptionType string

const (
	TypeString OptionType = "string"
	TypeBool   OptionType = "bool"
	TypeInt    OptionType = "int"
	TypeFloat  OptionType = "float"
	// TypeSize is a byte count with an optional K, M, G or T suffix
	// (powers of 1024); plugins receive the value as typed by the user.
	TypeSize OptionType = "size"
)

// AnyKey, as an option's name, accepts any key the user gives
// (-o PLUGIN.ANYTHING=VALUE), checked against the option's type; the
// plugin receives each under its own key and validates the keys itself.
// For options named by the user, such as secrets.db=/path/to/file.
const AnyKey = "*"

// Option describes one option a plugin accepts.
type Option struct {
	Name    string     `json:"name"`
	Type    OptionType `json:"type"`
	Default string     `json:"default,omitempty"`
	Help    string     `json:"help"`
	// Repeatable options may be given several times; the plugin receives
	// the values in ContributeRequest.Lists, in the order given (and, as
	// protocol 1 gave them, joined by newlines in Options).
	Repeatable bool `json:"repeatable,omitempty"`
	// Public options are shown to the other enabled plugins, in their
	// ContributeRequest.Facts: a rootfs, whether /dev is mounted, the
	// bind mounts. Make public what a neighbour may need to adapt to,
	// never a secret.
	Public bool `json:"public,omitempty"`
}

// ContributeRequest is what crun tells a plugin when it asks for the
// plugin's part of the plan.
type ContributeRequest struct {
	// Options holds every option the plugin declared: the user's value
	// (already validated against the declared type) or the default.
	Options map[string]string `json:"options"`
	// Plugins lists every enabled plugin in execution order, so that a
	// plugin can adapt to its neighbours (pid mounts /proc only when mnt
	// is on, for instance).
	Plugins []string `json:"plugins"`
	// ContainerID identifies this run (host-side names such as a cgroup
	// directory may use it). It is a placeholder that crun substitutes
	// in the plan, so that a cached plan serves every container name:
	// use it verbatim, never derive anything else from it.
	ContainerID string `json:"container_id"`

	// Protocol is the protocol version in use with this plugin (set by
	// the sdk, from the handshake).
	Protocol int `json:"protocol,omitempty"`
	// Features are what this crun supports beyond protocol 1: step
	// kinds (FeatureStep("mount"), FeatureHostStep("hook")) and the
	// Feature constants. Empty from a crun that speaks only protocol 1.
	// Ask with Supports, and fail with a clear message when something
	// you need is missing.
	Features []string `json:"features,omitempty"`
	// Facts are the public options (Option.Public) of the other enabled
	// plugins, as "PLUGIN.OPTION" -> value (defaults applied; repeatable
	// ones joined by newlines, as in FactLists): the root file system
	// ("chroot.rootfs"), whether /dev is mounted ("chroot.dev"), ... A
	// plugin's plan may depend on them: they are among crun's cache
	// inputs, as options.
	Facts map[string]string `json:"facts,omitempty"`
	// FactLists are the repeatable public options of the other enabled
	// plugins, value by value ("chroot.bind" -> ["/a:/b", ...]).
	FactLists map[string][]string `json:"fact_lists,omitempty"`
	// Lists holds the values of this plugin's repeatable options, in the
	// order given (none given: absent).
	Lists map[string][]string `json:"lists,omitempty"`
}

// Features of crun beyond its step kinds (ContributeRequest.Features).
const (
	// FeatureFacts: the request carries Facts and FactLists.
	FeatureFacts = "facts"
	// FeatureLists: the request carries Lists.
	FeatureLists = "lists"
	// FeatureMountIfExists: a Mount with IfExists is skipped, in the
	// container, when its source or target is missing.
	FeatureMountIfExists = "mount.if_exists"
)

// FeatureStep names a child step kind by its JSON name ("mount",
// "copy_file") as a feature.
func FeatureStep(kind string) string { return "step." + kind }

// FeatureHostStep names a host step kind by its JSON name ("hook") as a
// feature.
func FeatureHostStep(kind string) string { return "host_step." + kind }

// StepKinds lists the JSON names of the child step kinds this version of
// the contract defines ("mount", "copy_file", ...), and HostStepKinds
// those of the host steps: read off Step's and HostStep's fields, so a
// kind added there is listed here.
func StepKinds() []string { return actionNames(reflect.TypeOf(Step{}), "phase", "requires", "why") }

// HostStepKinds: see StepKinds.
func HostStepKinds() []string { return actionNames(reflect.TypeOf(HostStep{}), "point", "why") }

func actionNames(ty reflect.Type, meta ...string) []string {
	var names []string
	for i := 0; i < ty.NumField(); i++ {
		tag, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if tag != "" && tag != "-" && !slices.Contains(meta, tag) {
			names = append(names, tag)
		}
	}
	return names
}

// Supports tells whether the crun asking supports feature (one of the
// Feature constants, FeatureStep or FeatureHostStep).
func (r ContributeRequest) Supports(feature string) bool {
	for _, f := range r.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// Contribution is a plugin's part of the plan. The core merges the
// contributions of all enabled plugins, in order, into one plan.
type Contribution struct {
	// Namespaces the child must be cloned into.
	Namespaces []Namespace `json:"namespaces,omitempty"`
	// Steps are performed by crun's init inside the new namespaces,
	// before the command is executed, ordered by phase and then by plugin
	// order.
	Steps []Step `json:"steps,omitempty"`
	// HostSteps are performed by crun on the host at named points.
	HostSteps []HostStep `json:"host_steps,omitempty"`
	// Env adds KEY=VALUE pairs to the command's environment. The user's
	// --env wins over a plugin's.
	Env []string `json:"env,omitempty"`
	// Warnings are shown to the user before the run (and by crun plan):
	// legal but unsafe combinations, in plain words.
	Warnings []string `json:"warnings,omitempty"`
	// ReapingInit keeps crun's init as the container's first process: it
	// runs the command as its child, forwards signals to it, reaps
	// orphans and exits with the command's status. Without it the command
	// replaces the init (and, in a PID namespace, is PID 1, which the
	// kernel shields from signals it has no handler for).
	ReapingInit bool `json:"reaping_init,omitempty"`
	// CloneIntoCgroup is a cgroup v2 directory to create the child in
	// (clone3 with CLONE_INTO_CGROUP), so that it is in its cgroup from
	// its first instruction. Where the kernel refuses, crun clones
	// normally: the plugin should also attach the child at after-clone
	// (WritePid to cgroup.procs), which crun skips when the clone already
	// placed the child there.
	CloneIntoCgroup string `json:"clone_into_cgroup,omitempty"`

	// crun caches plans: a repeated run with the same inputs reuses the
	// contributions without launching any plugin. A contribution must
	// therefore be a function of its request, the plugin's binary and
	// the host paths it names here: DependsOn lists every host file or
	// directory the plugin looked at (a rootfs it checked, the cgroup
	// controllers it found), and the cached plan is used only while they
	// are unchanged. ContainerID must be used verbatim (crun substitutes
	// it). Cacheable says so: without it (as from every plugin of
	// protocol 1) crun plans at every run, so that a plugin that reads
	// host state without naming it never gets a stale plan. Uncacheable
	// (protocol 1's way of opting out) wins over Cacheable; a plugin
	// with live hooks is always launched anyway.
	DependsOn   []string `json:"depends_on,omitempty"`
	Cacheable   bool     `json:"cacheable,omitempty"`
	Uncacheable bool     `json:"uncacheable,omitempty"`
}

// HookRequest is passed to a plugin's live hook.
type HookRequest struct {
	Point HookPoint `json:"point"`
	// Name is the Hook.Name of the host step that triggered the call.
	Name        string `json:"name,omitempty"`
	ContainerID string `json:"container_id"`
	// Pid is the container's init process as seen from the host. It is
	// waiting for crun's go-ahead at HookAfterClone, and gone at
	// HookAfterExit.
	Pid int `json:"pid"`
	// Options are the plugin's options, as in ContributeRequest.
	Options map[string]string `json:"options"`
}
