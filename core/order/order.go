// Package order decides the order in which plugins contribute and run: a
// stable topological sort of their declared constraints, in which ties
// keep the order the user gave in --plugins.
package order

import (
	"fmt"
	"sort"
	"strings"
)

// Constraints are one plugin's ordering declarations.
type Constraints struct {
	// After: plugins that must come before this one, when enabled.
	After []string
	// Before: plugins that must come after this one, when enabled.
	Before []string
	// Requires: plugins that must be enabled with this one.
	Requires []string
}

// Sort orders the enabled plugins (given in the user's order). A
// constraint naming a plugin that is not enabled is ignored: "after mnt"
// means "after mnt, if mnt is there". A missing requirement or a cycle is
// an error naming the plugins involved.
func Sort(enabled []string, constraints map[string]Constraints) ([]string, error) {
	index := map[string]int{}
	for i, name := range enabled {
		if _, dup := index[name]; dup {
			return nil, fmt.Errorf("plugin %q is listed twice", name)
		}
		index[name] = i
	}

	for _, name := range enabled {
		var missing []string
		for _, req := range constraints[name].Requires {
			if _, ok := index[req]; !ok {
				missing = append(missing, req)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("plugin %q requires %s: add %s to --plugins",
				name, quoteAll(missing), strings.Join(missing, ","))
		}
	}

	// edges[a] holds the plugins that must come after a.
	edges := map[string]map[string]bool{}
	indegree := map[string]int{}
	addEdge := func(first, then string) {
		if _, ok := index[first]; !ok {
			return
		}
		if _, ok := index[then]; !ok {
			return
		}
		if edges[first] == nil {
			edges[first] = map[string]bool{}
		}
		if !edges[first][then] {
			edges[first][then] = true
			indegree[then]++
		}
	}
	for _, name := range enabled {
		for _, a := range constraints[name].After {
			addEdge(a, name)
		}
		for _, b := range constraints[name].Before {
			addEdge(name, b)
		}
	}

	// Kahn's algorithm, always taking the ready plugin the user listed
	// first, so that unconstrained plugins keep the user's order.
	var ready []string
	for _, name := range enabled {
		if indegree[name] == 0 {
			ready = append(ready, name)
		}
	}
	var out []string
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return index[ready[i]] < index[ready[j]] })
		next := ready[0]
		ready = ready[1:]
		out = append(out, next)
		for then := range edges[next] {
			indegree[then]--
			if indegree[then] == 0 {
				ready = append(ready, then)
			}
		}
	}
	if len(out) < len(enabled) {
		return nil, fmt.Errorf("plugins %s cannot be ordered: their constraints form a cycle (%s)",
			quoteAll(stuck(enabled, out)), describeCycle(enabled, edges, out))
	}
	return out, nil
}

// stuck returns the plugins the sort could not place, in user order.
func stuck(enabled, placed []string) []string {
	done := map[string]bool{}
	for _, p := range placed {
		done[p] = true
	}
	var rest []string
	for _, p := range enabled {
		if !done[p] {
			rest = append(rest, p)
		}
	}
	return rest
}

// describeCycle finds one cycle among the unplaced plugins and prints it
// as "a before b before a". Every unplaced plugin still has an unplaced
// predecessor, so walking predecessors must come back to a plugin seen.
func describeCycle(enabled []string, edges map[string]map[string]bool, placed []string) string {
	rest := stuck(enabled, placed)
	inRest := map[string]bool{}
	for _, p := range rest {
		inRest[p] = true
	}
	predecessor := func(p string) string {
		for _, q := range rest {
			if edges[q][p] {
				return q
			}
		}
		return ""
	}
	seen := map[string]int{}
	var walk []string
	for cur := rest[0]; cur != ""; cur = predecessor(cur) {
		if at, ok := seen[cur]; ok {
			cycle := append(append([]string{}, walk[at:]...), cur)
			// walk went backwards; print it forwards
			for i, j := 0, len(cycle)-1; i < j; i, j = i+1, j-1 {
				cycle[i], cycle[j] = cycle[j], cycle[i]
			}
			return strings.Join(cycle, " before ")
		}
		seen[cur] = len(walk)
		walk = append(walk, cur)
	}
	return strings.Join(rest, ", ")
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
