package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

func cmdPlan(o *options, command []string, stdout, stderr io.Writer) int {
	req, e, cleanup, ok := prepare("plan", o, command, stderr)
	if !ok {
		return core.ExitCrunFailed
	}
	defer cleanup()
	if len(o.diff) > 0 {
		return planDiff(e, req, o.diff, stdout, stderr)
	}
	s, err := e.Prepare(context.Background(), req)
	if err != nil {
		fmt.Fprintf(stderr, "crun: %v\n", err)
		return core.ExitCrunFailed
	}
	defer s.Close()
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s.Plan); err != nil {
			fmt.Fprintf(stderr, "crun: %v\n", err)
			return core.ExitCrunFailed
		}
		return 0
	}
	s.Plan.WriteText(stdout, o.explain)
	return 0
}

// planDiff prints what the request's plugins add to or take from the
// plan of the plugins against: both planned for one container id, the
// options of plugins the other side lacks left out of it.
func planDiff(e *core.Engine, req core.Request, against []string, stdout, stderr io.Writer) int {
	if req.ContainerID == "" {
		req.ContainerID = core.NewContainerID()
	}
	base := req
	base.Plugins = against
	enabled := core.ExpandPlugins(base)
	base.Options = nil
	for _, opt := range req.Options {
		if slices.Contains(enabled, opt.Plugin) {
			base.Options = append(base.Options, opt)
		}
	}
	var plans [2]*plan.Plan
	for i, r := range []core.Request{base, req} {
		s, err := e.Prepare(context.Background(), r)
		if err != nil {
			fmt.Fprintf(stderr, "crun: plan --plugins %s: %v\n", strings.Join(r.Plugins, ","), err)
			return core.ExitCrunFailed
		}
		plans[i] = s.Plan
		s.Close()
	}
	fmt.Fprintf(stdout, "--plugins %s against --plugins %s (container %s on both sides):\n",
		strings.Join(req.Plugins, ","), strings.Join(against, ","), req.ContainerID)
	if !plan.Diff(stdout, plans[0], plans[1]) {
		fmt.Fprintln(stdout, "no difference")
	}
	return 0
}

// pluginInfo is one line of crun plugins.
type pluginInfo struct {
	spec.Description
	Origin string `json:"origin"`
}

func cmdPlugins(o *options, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "crun: plugins takes no arguments\n")
		return core.ExitCrunFailed
	}
	e, cleanup, err := engine(o)
	if err != nil {
		fmt.Fprintf(stderr, "crun: %v\n", err)
		return core.ExitCrunFailed
	}
	defer cleanup()

	names := append([]string{}, e.Builtins...)
	names = append(names, discover(e.PluginPath, e.Builtins)...)
	// One refused plugin (a writable file, a wrong pin) must not hide the
	// others.
	var sources []core.Source
	var errs []error
	for _, n := range names {
		src, err := e.Resolve([]string{n})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sources = append(sources, src...)
	}
	infos, descErrs := core.DescribeAll(context.Background(), e.Launcher, sources, e.Pins)
	errs = append(errs, descErrs...)
	for _, err := range errs {
		fmt.Fprintf(stderr, "crun: %v\n", err)
	}
	var list []pluginInfo
	for i, src := range sources {
		if infos[i] != nil {
			list = append(list, pluginInfo{Description: *infos[i], Origin: src.Origin})
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(list)
	} else {
		writePlugins(stdout, list)
		fmt.Fprintln(stdout, "\npresets (names in --plugins that stand for several plugins; crun plan shows them expanded):")
		for _, p := range core.Presets {
			fmt.Fprintf(stdout, "%s: %s\n", p.Name, p.Summary)
		}
	}
	if len(errs) > 0 {
		return core.ExitCrunFailed
	}
	return 0
}

// discover lists the third-party plugins on the plugin path; the first
// directory holding a name wins, as in PATH.
func discover(dirs []string, builtins []string) []string {
	seen := map[string]bool{}
	for _, b := range builtins {
		seen[b] = true
	}
	var names []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var here []string
		for _, ent := range entries {
			name, ok := strings.CutPrefix(ent.Name(), "crun-plugin-")
			if !ok || seen[name] || spec.ValidName(name) != nil {
				continue
			}
			if _, found := core.FindPlugin(name, []string{dir}); found {
				seen[name] = true
				here = append(here, name)
			}
		}
		sort.Strings(here)
		names = append(names, here...)
	}
	return names
}

func writePlugins(w io.Writer, list []pluginInfo) {
	for i, p := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		origin := p.Origin
		if origin != core.BuiltinOrigin {
			origin = filepath.Clean(origin)
		}
		fmt.Fprintf(w, "%s %s (%s)\n", p.Name, p.Version, origin)
		fmt.Fprintf(w, "  %s\n", p.Summary)
		for _, opt := range p.Options {
			def := ""
			if opt.Default != "" {
				def = fmt.Sprintf(", default %q", opt.Default)
			}
			rep := ""
			if opt.Repeatable {
				rep = ", repeatable"
			}
			fmt.Fprintf(w, "  -o %s.%s=%s%s%s\n      %s\n", p.Name, opt.Name, strings.ToUpper(string(opt.Type)), def, rep, opt.Help)
		}
		if len(p.After) > 0 {
			fmt.Fprintf(w, "  runs after:  %s\n", strings.Join(p.After, ", "))
		}
		if len(p.Before) > 0 {
			fmt.Fprintf(w, "  runs before: %s\n", strings.Join(p.Before, ", "))
		}
		if len(p.Requires) > 0 {
			fmt.Fprintf(w, "  requires:    %s\n", strings.Join(p.Requires, ", "))
		}
		if len(p.Hooks) > 0 {
			var hooks []string
			for _, h := range p.Hooks {
				hooks = append(hooks, string(h))
			}
			fmt.Fprintf(w, "  live hooks:  %s\n", strings.Join(hooks, ", "))
		}
	}
}
