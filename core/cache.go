package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/core/sealed"
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
// entry is ignored and rewritten. Next to them, one record for each list
// of plugins says what their last cached plan was made from, so that
// --trace can name the input that changed when a run finds no plan
// (cachewhy.go).

// cacheFormat changes whenever the key, the entry layout or the record's
// does.
const cacheFormat = 6

// An entry is three lines: a header (the format), the fingerprints of
// the host paths the plan depends on (JSON), and the plan in its wire
// form (plan.Marshal; base64).
//
//	crun-plan-cache 6
//	{"/sys/fs/cgroup/pids":"dir:...",...}
//	Y3J1bi1wbGFuLXdpcmUC...
const cacheMagic = "crun-plan-cache"

// placeholderID stands for the container id in a cached plan.
const placeholderID = "crun-cached-plan-id-0c7f"

// CacheDir is where plan cache entries live.
func CacheDir() string { return filepath.Join(RuntimeBase(), "cache") }

// cacheKey hashes everything a plan is made of, except the host paths
// that entries check for themselves (planInputs).
func (e *Engine) cacheKey(req Request, sources []Source, baseEnv []string) (string, error) {
	w := inputWriter{buf: make([]byte, 0, 1024)}
	if err := e.planInputs(&w, req, sources, baseEnv); err != nil {
		return "", err
	}
	sum := sha256.Sum256(w.buf)
	return hex.EncodeToString(sum[:]), nil
}

// planInputs writes, in a fixed order, everything a plan is made of
// except the host paths that entries check for themselves. Each input
// has a kind and, where a request has several of that kind, a name: a
// run that misses the cache says by these which one changed (cachewhy.go).
func (e *Engine) planInputs(w *inputWriter, req Request, sources []Source, baseEnv []string) error {
	self, err := sealed.Executable()
	if err != nil {
		return err
	}
	w.add("format", "", strconv.Itoa(cacheFormat))
	// Plugins may plan for who runs them (the user plugin maps the
	// caller's ids).
	w.add("ids", "", strconv.Itoa(os.Geteuid()), strconv.Itoa(os.Getegid()))
	// crun's own binary makes the plan format and the built-ins.
	w.add("crun", "", fileIdentity(self), fileIdentity(filepath.Join(filepath.Dir(self), "crun-plugins")))
	for _, s := range sources {
		id := ""
		if s.Origin != BuiltinOrigin {
			// A third-party plugin's plan is its binary's.
			id = fileIdentity(s.Origin)
		}
		w.add("plugin", s.Name, s.Origin, id)
	}
	for _, o := range req.Options {
		w.add("option", o.Plugin+"."+o.Key, o.Value, o.Flag)
	}
	w.add("command", "", req.Command...)
	w.add("env", "", req.Env...)
	w.add("base-env", "", baseEnv...)
	w.add("host-env", "", strconv.FormatBool(req.HostEnv))
	w.add("plugin-timeout", "", e.CallTimeout.String())
	w.add("builtins", "", e.Builtins...)
	// A changed pin must be checked against the plugin again.
	for _, name := range slices.Sorted(maps.Keys(e.Pins)) {
		w.add("pin", name, e.Pins[name])
	}
	return nil
}

// inputWriter encodes the inputs of a plan once, for two readers: the
// cache key is the hash of the whole encoding; a run that missed the
// cache also keeps the hash of each input's own bytes, by name, so that
// a later miss can say which input changed. Every string goes in with
// its length first and every input with its number of values: no two
// different requests encode the same bytes.
type inputWriter struct {
	buf []byte
	// sums, when not nil, maps each input's name ("option uts.hostname")
	// to a hash of its encoding; names keeps their order. A lookup
	// leaves it nil: a cache hit must cost nothing more than the key.
	sums  map[string]string
	names []string
}

func (w *inputWriter) add(kind, name string, values ...string) {
	start := len(w.buf)
	w.put(kind)
	w.put(name)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(values)))
	for _, v := range values {
		w.put(v)
	}
	if w.sums == nil {
		return
	}
	if name != "" {
		kind += " " + name
	}
	prev, seen := w.sums[kind]
	if !seen {
		w.names = append(w.names, kind)
	}
	// A repeated option (two --bind) is one input: all its values. Eight
	// bytes of hash are plenty to tell two runs apart: the record they
	// go in names a change, it does not decide whether a plan is used.
	sum := sha256.Sum256(append([]byte(prev), w.buf[start:]...))
	w.sums[kind] = hex.EncodeToString(sum[:8])
}

func (w *inputWriter) put(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// fileIdentity identifies a file's content without reading it: a rebuilt
// or replaced binary changes its inode, size or times. stat(2) follows
// symlinks, so a link pointed elsewhere gives another identity too.
func fileIdentity(path string) string {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "missing"
	}
	return fmt.Sprintf("%s:%d:%d:%d:%d.%d:%d.%d", path, st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}

// fingerprint captures the state of a host path a plugin looked at: its
// identity, and for a regular file its content.
func fingerprint(path string) string {
	fp, _ := fingerprintOf(path)
	return fp
}

// fingerprintOf returns a path's fingerprint and the part of it that is
// the path's identity: its type, device and inode; for a symlink, what
// it leads to; for a directory, when it was made (or last changed, where
// the file system keeps no birth time). The rest, for a regular file, is
// its content: what dependsChange tells apart.
func fingerprintOf(path string) (fp, identity string) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "missing", "missing"
	}
	st := fi.Sys().(*syscall.Stat_t)
	fp = fmt.Sprintf("%v:%d:%d", fi.Mode().Type(), st.Dev, st.Ino)
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
		// at the same path must still count as another one. Its birth
		// time says so, where the file system keeps one; its change
		// time otherwise, which also moves whenever an entry is added
		// or removed (a mount point crun makes for a run, and removes
		// after it, would then make every run plan again).
		var stx unix.Statx_t
		if unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &stx) == nil && stx.Mask&unix.STATX_BTIME != 0 {
			fp += fmt.Sprintf(":born %d.%d", stx.Btime.Sec, stx.Btime.Nsec)
		} else {
			fp += fmt.Sprintf(":%d.%d", st.Ctim.Sec, st.Ctim.Nsec)
		}
	}
	if !fi.Mode().IsRegular() {
		return fp, fp
	}
	// A small file's content, read: cgroup files report no size or
	// times worth trusting.
	identity = fp
	fp += fmt.Sprintf(":%d:%d.%d", st.Size, st.Mtim.Sec, st.Mtim.Nsec)
	f, err := os.Open(path)
	if err != nil {
		return fp + ":unreadable", identity
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 64<<10)); err != nil {
		return fp + ":unreadable", identity
	}
	return fp + ":" + hex.EncodeToString(h.Sum(nil)), identity
}

// dependsChange says how a host path differs from its fingerprint old:
// "" when it does not, else in words a --trace line can show.
func dependsChange(path, old string) string {
	fp, identity := fingerprintOf(path)
	switch {
	case fp == old:
		return ""
	case fp == "missing":
		return "now missing"
	case old == "missing":
		return "was missing"
	case fp != identity && strings.HasPrefix(old, identity+":"):
		return "its content" // the same file
	}
	return "its identity"
}

// cacheHit is a cache entry read but not yet trusted: its plan is used
// once checked.
type cacheHit struct {
	key  string
	body []byte
}

// readCacheEntry returns the entry for key, or nil when there is none
// with a well-formed header.
func readCacheEntry(key string) *cacheHit {
	if PrivateDir(CacheDir()) != nil {
		return nil // not ours to trust: plan afresh
	}
	b, err := os.ReadFile(filepath.Join(CacheDir(), key+".json"))
	if err != nil {
		return nil
	}
	header, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil
	}
	hit := &cacheHit{key: key, body: body}
	if !hit.parseHeader(string(header)) {
		return nil
	}
	return hit
}

// entryLines are the JSON lines of an entry, after its header.
const entryLines = 2

func (h *cacheHit) parseHeader(line string) bool {
	return line == cacheHeader()
}

// cacheHeader is the header line of an entry.
func cacheHeader() string { return fmt.Sprintf("%s %d", cacheMagic, cacheFormat) }

// plan returns the entry's plan with the container id filled in, or nil
// when it is not usable: corrupt, truncated, made from host paths that
// changed since.
func (h *cacheHit) plan(containerID string) *plan.Plan {
	fingerprints, wire, ok := h.split()
	if !ok {
		return nil
	}
	for path, fp := range fingerprints {
		if fingerprint(path) != fp {
			return nil
		}
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(wire)))
	n, err := base64.StdEncoding.Decode(raw, wire)
	if err != nil {
		return nil
	}
	p, err := withContainerID(raw[:n], containerID)
	if err != nil || p.Validate() != nil {
		return nil // corrupt, or made by another crun: planned again and rewritten
	}
	return p
}

// split returns the fingerprints of an entry and its plan (base64), or
// false when it is truncated or not ours.
func (h *cacheHit) split() (fingerprints map[string]string, wire []byte, ok bool) {
	lines := bytes.Split(h.body, []byte("\n"))
	if len(lines) != entryLines+1 || len(lines[entryLines]) != 0 {
		return nil, nil, false
	}
	if json.Unmarshal(lines[0], &fingerprints) != nil {
		return nil, nil, false
	}
	return fingerprints, lines[1], true
}

// maxCacheEntries bounds the cache: past it, the older half goes.
const maxCacheEntries = 512

// storeCachedPlan saves a plan made with the placeholder id, and what it
// was made from (miss, when not nil) for the next run to compare with.
// Failing to cache is not failing to run.
func storeCachedPlan(key string, p *plan.Plan, miss *cacheMiss) error {
	if err := PrivateDir(CacheDir()); err != nil {
		return err
	}
	trimCache()
	fingerprints := map[string]string{}
	for _, path := range p.DependsOn {
		fingerprints[path] = fingerprint(path)
	}
	fpLine, err := json.Marshal(fingerprints)
	if err != nil {
		return err
	}
	wire, err := plan.Marshal(p)
	if err != nil {
		return err
	}
	b := []byte(cacheHeader() + "\n")
	b = append(append(b, fpLine...), '\n')
	b = append(base64.StdEncoding.AppendEncode(b, wire), '\n')
	if err := writeCacheFile(key+".json", b); err != nil {
		return err
	}
	if miss != nil {
		// Only a diagnosis depends on it: the plan is cached either way.
		miss.remember(fingerprints)
	}
	return nil
}

// writeCacheFile replaces a file of the cache directory atomically.
// Concurrent runs may store the same file: each writes its own temporary
// file and the last rename wins, whole.
func writeCacheFile(name string, b []byte) error {
	tmp, err := os.CreateTemp(CacheDir(), name+".tmp-*")
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
	if err := os.Rename(tmp.Name(), filepath.Join(CacheDir(), name)); err != nil {
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

// withContainerID decodes a plan in its wire form, replacing the
// placeholder id wherever it appears (the plan's id, cgroup paths...).
func withContainerID(wire []byte, id string) (*plan.Plan, error) {
	return plan.Unmarshal(wire, func(s string) string {
		if strings.Contains(s, placeholderID) {
			return strings.ReplaceAll(s, placeholderID, id)
		}
		return s
	})
}
