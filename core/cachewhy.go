package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Why a run found no cached plan, for --trace. The cache key is a hash of
// every input of a plan, so a miss has no entry to compare with. Instead,
// when a plan is stored, crun also records what it was made from, input
// by input (each input's own hash, by name: inputWriter) with the
// fingerprints of the host paths it depends on, in one record for each
// list of plugins in order. A later run of the same plugins that misses
// the cache compares its inputs with that record and names those that
// differ.
//
// A hit does none of this. A miss pays for one small file read, and for
// one written when its plan is stored, next to plugin processes launched.
// The record decides nothing: a plan is used or not by its entry alone.

// lastRun is what the last cached plan of a list of plugins was made
// from. A record is two lines: a header (the cache format), then this
// in JSON.
type lastRun struct {
	Key       string            `json:"key"`
	Inputs    map[string]string `json:"inputs"`     // name: hash (inputWriter)
	DependsOn map[string]string `json:"depends_on"` // path: fingerprint
}

const lastRunMagic = "crun-plan-inputs"

// maxChangesNamed keeps a --trace line short; the rest are counted.
const maxChangesNamed = 4

// cacheMiss is a run that found no usable plan in the cache: what its
// plan is made from, to be recorded with it, and why it was not found.
type cacheMiss struct {
	record string // the record's file name in CacheDir
	run    lastRun
	names  []string // of run.Inputs, in the order of the key
	why    string
}

// explainMiss is called when the cache had no usable plan for a request;
// hit is the entry of its key that was found unusable, if any.
func (e *Engine) explainMiss(in *resolved, hit *cacheHit) *cacheMiss {
	m := &cacheMiss{record: recordName(in.sources)}
	w := inputWriter{sums: map[string]string{}}
	if err := e.planInputs(&w, in.req, in.sources, in.base); err != nil {
		// The key was made from the same inputs a moment ago.
		m.why = err.Error()
		return m
	}
	m.run = lastRun{Key: in.cacheKey, Inputs: w.sums}
	m.names = w.names
	m.why = m.reason(hit)
	return m
}

func (m *cacheMiss) reason(hit *cacheHit) string {
	if hit != nil {
		// The entry of this very key: only the host paths it depends on,
		// or the entry itself, can be wrong.
		fingerprints, _, ok := hit.split()
		if changes := changedPaths(fingerprints); ok && len(changes) > 0 {
			return "changed since it was cached: " + listChanges(changes)
		}
		return "its cache entry was unreadable (it is replaced)"
	}
	if err := PrivateDir(CacheDir()); err != nil {
		return "the cache cannot be used: " + err.Error()
	}
	last, ok := readLastRun(m.record)
	if !ok {
		return "no earlier run of these plugins"
	}
	if last.Key == m.run.Key {
		return "its cache entry was removed, or unreadable"
	}
	return "changed since the last run of these plugins: " + listChanges(m.changesSince(last))
}

// changesSince names what differs between a run's inputs and a record:
// host paths first, then inputs in the order of the key.
func (m *cacheMiss) changesSince(last lastRun) []string {
	paths := changedPaths(last.DependsOn)
	var changes []string
	for _, name := range m.names {
		before, ok := last.Inputs[name]
		switch {
		case !ok:
			changes = append(changes, name+" (new)")
		case before != m.run.Inputs[name]:
			changes = append(changes, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(last.Inputs)) {
		if _, ok := m.run.Inputs[name]; !ok {
			changes = append(changes, name+" (removed)")
		}
	}
	if len(changes) == 0 && last.Key != m.run.Key {
		// Every input by name is the same, the key is not: only the
		// order of options (of different keys) is not in a name.
		changes = []string{"the order of the options"}
	}
	return append(paths, changes...)
}

// changedPaths names the host paths that differ from their fingerprints,
// in the order of their names.
func changedPaths(fingerprints map[string]string) []string {
	var changes []string
	for _, path := range slices.Sorted(maps.Keys(fingerprints)) {
		if how := dependsChange(path, fingerprints[path]); how != "" {
			changes = append(changes, fmt.Sprintf("depends %s (%s)", path, how))
		}
	}
	return changes
}

func listChanges(changes []string) string {
	if len(changes) <= maxChangesNamed {
		return strings.Join(changes, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(changes[:maxChangesNamed], ", "), len(changes)-maxChangesNamed)
}

// recordName is the file of the record of a list of plugins.
func recordName(sources []Source) string {
	var w inputWriter
	for _, s := range sources {
		w.put(s.Name)
	}
	sum := sha256.Sum256(w.buf)
	return hex.EncodeToString(sum[:16]) + ".last"
}

func lastRunHeader() string { return fmt.Sprintf("%s %d", lastRunMagic, cacheFormat) }

// readLastRun returns a record, or false when there is none that this
// crun wrote.
func readLastRun(name string) (lastRun, bool) {
	var last lastRun
	b, err := os.ReadFile(filepath.Join(CacheDir(), name))
	if err != nil {
		return last, false
	}
	header, body, _ := bytes.Cut(b, []byte("\n"))
	if string(header) != lastRunHeader() || json.Unmarshal(body, &last) != nil {
		return last, false
	}
	return last, true
}

// remember records what the plan just cached was made from, with the
// fingerprints its entry holds. The cache directory has been checked.
func (m *cacheMiss) remember(fingerprints map[string]string) {
	if m.run.Inputs == nil {
		return // not named (explainMiss failed): nothing to compare with
	}
	m.run.DependsOn = fingerprints
	body, err := json.Marshal(m.run)
	if err != nil {
		return
	}
	writeCacheFile(m.record, append([]byte(lastRunHeader()+"\n"), append(body, '\n')...))
}

// notCacheable says why a plan the plugins made is not cached: no earlier
// run could have helped.
func notCacheable(uncacheable string, descs map[string]spec.Description) string {
	if uncacheable != "" {
		return uncacheable
	}
	for _, name := range slices.Sorted(maps.Keys(descs)) {
		if len(descs[name].Hooks) > 0 {
			return fmt.Sprintf("plugin %s has live hooks, which need it running: planned at every run", name)
		}
	}
	return "not cacheable"
}
