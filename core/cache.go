package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/crun-project/crun/core/plan"
)

// The plan cache. Plugins are planners whose contributions depend only on
// their request, their binary and the host paths they declare
// (spec.Contribution.DependsOn), so a repeated run can reuse the plan of
// an earlier one without launching any plugin process: that is what lets
// a plugin runtime start as fast as a monolithic one.
//
// The key covers everything that goes into a plan: the request (plugins
// in order, options, command, environment), crun's own binary, every
// third-party plugin binary (by file identity: device, inode, size,
// times) and the plugin pins. An entry also records a fingerprint of each declared host path
// and is used only while they match. Plans are computed with a
// placeholder container id, replaced by the run's own on use.
//
// Entries live in the runtime directory (a tmpfs for root: gone at
// reboot), one file each, written atomically; a corrupt or truncated
// entry is ignored and rewritten.

// cacheFormat changes whenever the key or the entry layout does.
const cacheFormat = 1

// placeholderID stands for the container id in a cached plan.
const placeholderID = "crun-cached-plan-id-0c7f"

// CacheDir is where plan cache entries live.
func CacheDir() string { return filepath.Join(RuntimeBase(), "cache") }

// cacheEntry is one cached plan.
type cacheEntry struct {
	Format int             `json:"format"`
	Plan   json.RawMessage `json:"plan"`
	// Fingerprints of the plan's DependsOn paths when it was made.
	Fingerprints map[string]string `json:"fingerprints"`
}

// cacheKey hashes everything a plan is made of, except the host paths
// that entries check for themselves.
func (e *Engine) cacheKey(req Request, sources []Source, baseEnv []string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	type pluginID struct {
		Name, Origin, Identity string
	}
	var plugins []pluginID
	for _, s := range sources {
		id := pluginID{Name: s.Name, Origin: s.Origin}
		if s.Origin != BuiltinOrigin {
			// A third-party plugin's plan is its binary's.
			id.Identity = fileIdentity(s.Origin)
		}
		plugins = append(plugins, id)
	}
	key := struct {
		Format   int
		Crun     string
		Host     string
		Plugins  []pluginID
		Options  []Option
		Command  []string
		Env      []string
		BaseEnv  []string
		HostEnv  bool
		Timeout  string
		Builtins []string
		// A changed pin must be checked against the plugin again.
		Pins Pins
	}{cacheFormat, fileIdentity(self), fileIdentity(filepath.Join(filepath.Dir(self), "crun-plugins")), plugins, req.Options, req.Command, req.Env, baseEnv, req.HostEnv,
		e.CallTimeout.String(), e.Builtins, e.Pins}
	b, err := json.Marshal(key)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// fileIdentity identifies a file's content without reading it: a rebuilt
// or replaced binary changes its inode, size or times.
func fileIdentity(path string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "missing"
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "missing"
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%s:%d:%d:%d:%d.%d:%d.%d", real, st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}

// fingerprint captures the state of a host path a plugin looked at: its
// type and identity, and for a small file its content (cgroup files
// report no size or times worth trusting).
func fingerprint(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return "missing"
	}
	st := fi.Sys().(*syscall.Stat_t)
	fp := fmt.Sprintf("%v:%d:%d", fi.Mode().Type(), st.Dev, st.Ino)
	if fi.Mode()&os.ModeSymlink != 0 {
		// What the link leads to counts too (a moved target).
		if ti, err := os.Stat(path); err == nil {
			tt := ti.Sys().(*syscall.Stat_t)
			fp += fmt.Sprintf("->%v:%d:%d:%d.%d", ti.Mode().Type(), tt.Dev, tt.Ino, tt.Ctim.Sec, tt.Ctim.Nsec)
		} else {
			fp += "->missing"
		}
	}
	if fi.IsDir() {
		// Inode numbers are reused: a directory removed and made again
		// at the same path must still count as another one.
		fp += fmt.Sprintf(":%d.%d", st.Ctim.Sec, st.Ctim.Nsec)
	}
	if fi.Mode().IsRegular() {
		fp += fmt.Sprintf(":%d:%d.%d", st.Size, st.Mtim.Sec, st.Mtim.Nsec)
		f, err := os.Open(path)
		if err != nil {
			return fp + ":unreadable"
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, io.LimitReader(f, 64<<10)); err != nil {
			return fp + ":unreadable"
		}
		fp += ":" + hex.EncodeToString(h.Sum(nil))
	}
	return fp
}

// loadCachedPlan returns the cached plan for key with the container id
// filled in, or nil when there is no usable entry.
func loadCachedPlan(key, containerID string) *plan.Plan {
	if PrivateDir(CacheDir()) != nil {
		return nil // not ours to trust: plan afresh
	}
	b, err := os.ReadFile(filepath.Join(CacheDir(), key+".json"))
	if err != nil {
		return nil
	}
	var entry cacheEntry
	if err := json.Unmarshal(b, &entry); err != nil || entry.Format != cacheFormat {
		return nil // corrupt, truncated or old: planned again and rewritten
	}
	for path, fp := range entry.Fingerprints {
		if fingerprint(path) != fp {
			return nil
		}
	}
	p, err := withContainerID(entry.Plan, containerID)
	if err != nil || p.Validate() != nil {
		return nil
	}
	return p
}

// maxCacheEntries bounds the cache: past it, the older half goes.
const maxCacheEntries = 512

// storeCachedPlan saves a plan made with the placeholder id. Failing to
// cache is not failing to run.
func storeCachedPlan(key string, p *plan.Plan) error {
	if err := PrivateDir(CacheDir()); err != nil {
		return err
	}
	trimCache()
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	entry := cacheEntry{Format: cacheFormat, Plan: raw, Fingerprints: map[string]string{}}
	for _, path := range p.DependsOn {
		entry.Fingerprints[path] = fingerprint(path)
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	// Concurrent runs may store the same key: each writes its own
	// temporary file and the last rename wins, whole.
	tmp, err := os.CreateTemp(CacheDir(), key+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(CacheDir(), key+".json")); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// trimCache keeps the cache bounded: it removes the older half of the
// entries when there are too many, and temporary files a killed crun left.
func trimCache() {
	entries, err := os.ReadDir(CacheDir())
	if err != nil {
		return
	}
	type entry struct {
		name string
		mod  int64
	}
	var plans []entry
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		if strings.Contains(e.Name(), ".tmp-") {
			if time.Since(info.ModTime()) > time.Minute {
				os.Remove(filepath.Join(CacheDir(), e.Name()))
			}
			continue
		}
		plans = append(plans, entry{e.Name(), info.ModTime().UnixNano()})
	}
	if len(plans) < maxCacheEntries {
		return
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].mod < plans[j].mod })
	for _, e := range plans[:len(plans)/2] {
		os.Remove(filepath.Join(CacheDir(), e.name))
	}
}

// withContainerID decodes a plan, replacing the placeholder id.
func withContainerID(raw []byte, id string) (*plan.Plan, error) {
	if strings.Contains(id, `"`) || strings.Contains(id, `\`) {
		return nil, errors.New("container id not JSON-safe")
	}
	return plan.Decode([]byte(strings.ReplaceAll(string(raw), placeholderID, id)))
}
