package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/core/plan"
	"github.com/crun-project/crun/sdk/spec"
)

// State is what crun must undo on the host if it cannot do so itself: a
// crun killed by SIGKILL gets no chance to clean up (its container dies
// with it, through Pdeathsig, but mounts made in the host's mount
// namespace and host-side directories such as cgroups stay). While a
// container runs, its state file records them; the next crun, or
// `crun cleanup`, finds state files whose owner is gone and undoes them.
// The file also makes container names unique among running containers.
//
// The owner holds an exclusive flock on its state file for its whole
// life; the kernel drops it when the owner dies, however it dies. So "is
// the owner alive" is "is the file locked", with no pid to be reused, and
// a cleaner holds the lock while it undoes and unlinks, so that no two
// processes act on the same container at once.
type State struct {
	// Version is the state file format's (stateVersion); files without
	// one are older, and still read.
	Version     int    `json:"version"`
	ContainerID string `json:"container_id"`
	// Owner is the pid of the crun that runs the container (for
	// messages; the lock is what tells it is alive).
	Owner int `json:"owner"`
	// Mounts are the mounts the child makes in the host's mount
	// namespace, in order, each recorded before it is made.
	Mounts []HostMount `json:"mounts,omitempty"`
	// Created are mount points the child made in the host's tree.
	Created []HostPath `json:"created,omitempty"`
	// Roots are the container's root directories (named roots, chroot
	// and pivot_root paths): a mount point another container made there
	// may hold this one's mount, and must stay while it runs.
	Roots []HostPath `json:"roots,omitempty"`
	// AfterExit are the plan's after-exit host steps, live hooks
	// included: a cleaner calls those through their plugin, launched
	// again from HookPlugins (as a CNI runtime calls DEL).
	AfterExit   []plan.HostStep       `json:"after_exit,omitempty"`
	HookPlugins map[string]HookPlugin `json:"hook_plugins,omitempty"`

	path       string
	file       *os.File // open and locked while the state is ours
	unreadable error    // the file could not be read (lockState)
}

// HookPlugin is what calling a plugin's after-exit hook needs once its
// crun is gone: where the plugin was found, and the options it had.
type HookPlugin struct {
	Origin  string            `json:"origin"`
	Options map[string]string `json:"options,omitempty"`
}

// HookReplayer calls the after-exit hook of a plugin for a container
// whose crun is gone (Engine.ReplayHook).
type HookReplayer func(ctx context.Context, name string, p HookPlugin, req spec.HookRequest) error

// stateVersion is the format of the state files this crun writes:
//
//	(none) written by encoding/json, and by hand since 6d26674 (the same
//	       JSON), with after-exit steps as an array of host steps; or,
//	       for a few commits from 83ebc34, as base64 of the plan's wire
//	       form: both still read.
//	3      a version; mount ids; paths that are not UTF-8 kept byte for
//	       byte ({"base64": ...}); after-exit hooks, with their plugins.
//
// A file of a newer version is left alone, for the crun that wrote it.
const stateVersion = 3

// errNewerState: the state file was written by a newer crun.
var errNewerState = errors.New("written by a newer crun")

// HostPath is a path on the host as the kernel spells it: bytes, not
// necessarily UTF-8. In JSON it is a string when it is valid UTF-8, and
// {"base64": "..."} otherwise (encoding/json would turn the odd bytes
// into U+FFFD, and the path would no longer name the mount).
type HostPath string

// MarshalJSON writes p as appendHostPath does.
func (p HostPath) MarshalJSON() ([]byte, error) { return appendHostPath(nil, p), nil }

// UnmarshalJSON reads either form.
func (p *HostPath) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*p = HostPath(str)
		return nil
	}
	var raw struct {
		Base64 []byte `json:"base64"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("a path is neither a string nor {\"base64\": ...}: %w", err)
	}
	*p = HostPath(raw.Base64)
	return nil
}

// appendHostPath appends p's JSON.
func appendHostPath(b []byte, p HostPath) []byte {
	if utf8.ValidString(string(p)) {
		return appendJSONString(b, string(p))
	}
	b = append(b, `{"base64":"`...)
	b = base64.StdEncoding.AppendEncode(b, []byte(p))
	return append(b, '"', '}')
}

// encode returns the state file's content: the JSON encoding/json would
// write for it, written by hand. Every run writes one, and encoding/json's
// first use in a process, reflecting on the host steps' types, took
// 0.1-0.2 ms of a 3.5 ms run. (The file is read with encoding/json.)
func (s *State) encode() []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(s.Version), 10)
	b = append(b, `,"container_id":`...)
	b = appendJSONString(b, s.ContainerID)
	b = append(b, `,"owner":`...)
	b = strconv.AppendInt(b, int64(s.Owner), 10)
	if len(s.Mounts) > 0 {
		b = append(b, `,"mounts":[`...)
		for i, m := range s.Mounts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"path":`...)
			b = appendHostPath(b, m.Path)
			b = append(b, `,"below":`...)
			b = strconv.AppendInt(b, int64(m.Below), 10)
			if m.ID != 0 {
				b = append(b, `,"id":`...)
				b = strconv.AppendUint(b, m.ID, 10)
			}
			if m.UniqueID {
				b = append(b, `,"unique_id":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(s.Created) > 0 {
		b = append(b, `,"created":[`...)
		for i, c := range s.Created {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHostPath(b, c)
		}
		b = append(b, ']')
	}
	if len(s.Roots) > 0 {
		b = append(b, `,"roots":[`...)
		for i, c := range s.Roots {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHostPath(b, c)
		}
		b = append(b, ']')
	}
	if len(s.AfterExit) > 0 {
		b = append(b, `,"after_exit":[`...)
		for i, h := range s.AfterExit {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHostStep(b, h)
		}
		b = append(b, ']')
	}
	if len(s.HookPlugins) > 0 {
		b = append(b, `,"hook_plugins":{`...)
		for i, name := range slices.Sorted(maps.Keys(s.HookPlugins)) {
			if i > 0 {
				b = append(b, ',')
			}
			p := s.HookPlugins[name]
			b = appendJSONString(b, name)
			b = append(b, `:{"origin":`...)
			b = appendJSONString(b, p.Origin)
			if len(p.Options) > 0 {
				b = append(b, `,"options":{`...)
				for j, k := range slices.Sorted(maps.Keys(p.Options)) {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendJSONString(b, k)
					b = append(b, ':')
					b = appendJSONString(b, p.Options[k])
				}
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}', '\n')
}

// appendHostStep appends h as JSON, with the fields and names of its json
// tags (TestStateFileRoundTrip fails when a field is missing here).
func appendHostStep(b []byte, h plan.HostStep) []byte {
	w := jsonObject{b: append(b, '{')}
	w.str("plugin", h.Plugin)
	w.str("point", string(h.Point))
	if h.Why != "" {
		w.str("why", h.Why)
	}
	if m := h.Mkdir; m != nil {
		w.open("mkdir").str("path", m.Path)
		if m.Mode != 0 {
			w.number("mode", uint64(m.Mode))
		}
		w.close()
	}
	if f := h.WriteFile; f != nil {
		w.open("write_file").str("path", f.Path).str("content", f.Content)
		if f.IfExists {
			w.yes("if_exists")
		}
		w.close()
	}
	if a := h.WritePid; a != nil {
		w.open("write_pid").str("path", a.Path).close()
	}
	if a := h.RemoveDir; a != nil {
		w.open("remove_dir").str("path", a.Path).close()
	}
	if a := h.KillCgroup; a != nil {
		w.open("kill_cgroup").str("path", a.Path).close()
	}
	if r := h.Report; r != nil {
		w.open("report").str("path", r.Path)
		if r.Key != "" {
			w.str("key", r.Key)
		}
		w.str("label", r.Label)
		if r.NonZero {
			w.yes("non_zero")
		}
		if r.Unit != "" {
			w.str("unit", r.Unit)
		}
		w.close()
	}
	if k := h.Hook; k != nil {
		w.open("hook")
		if k.Name != "" {
			w.str("name", k.Name)
		}
		w.close()
	}
	return append(w.b, '}')
}

// jsonObject writes the members of JSON objects, commas included.
type jsonObject struct {
	b     []byte
	begun bool // the current object has a member
}

func (w *jsonObject) key(name string) {
	if w.begun {
		w.b = append(w.b, ',')
	}
	w.begun = true
	w.b = appendJSONString(w.b, name)
	w.b = append(w.b, ':')
}

func (w *jsonObject) str(name, v string) *jsonObject {
	w.key(name)
	w.b = appendJSONString(w.b, v)
	return w
}

func (w *jsonObject) number(name string, v uint64) { w.key(name); w.b = strconv.AppendUint(w.b, v, 10) }
func (w *jsonObject) yes(name string)              { w.key(name); w.b = append(w.b, "true"...) }

// open starts a member that is an object; close ends it.
func (w *jsonObject) open(name string) *jsonObject {
	w.key(name)
	w.b = append(w.b, '{')
	w.begun = false
	return w
}

func (w *jsonObject) close() {
	w.b = append(w.b, '}')
	w.begun = true
}

// decodeState reads a state file's content, of this version or an older
// one.
func decodeState(b []byte) (*State, error) {
	var head struct {
		Version   int             `json:"version"`
		AfterExit json.RawMessage `json:"after_exit"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, err
	}
	if head.Version > stateVersion {
		return nil, fmt.Errorf("version %d, %w (this one reads up to %d): clean it up with that crun", head.Version, errNewerState, stateVersion)
	}
	var s State
	var steps []plan.HostStep
	if len(head.AfterExit) > 0 && head.AfterExit[0] == '"' {
		// 83ebc34's form: base64 of the plan's wire encoding.
		var err error
		if steps, err = decodeWireSteps(head.AfterExit); err != nil {
			return nil, fmt.Errorf("its after-exit steps: %w", err)
		}
		var rest struct {
			ContainerID string      `json:"container_id"`
			Owner       int         `json:"owner"`
			Mounts      []HostMount `json:"mounts"`
			Created     []HostPath  `json:"created"`
		}
		if err := json.Unmarshal(b, &rest); err != nil {
			return nil, err
		}
		s = State{ContainerID: rest.ContainerID, Owner: rest.Owner, Mounts: rest.Mounts, Created: rest.Created, AfterExit: steps}
	} else if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeWireSteps reads after-exit steps kept as base64 of a plan in the
// wire form.
func decodeWireSteps(raw json.RawMessage) ([]plan.HostStep, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return nil, err
	}
	wire, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, err
	}
	p, err := plan.Unmarshal(wire, nil)
	if err != nil {
		return nil, err
	}
	return p.HostSteps, nil
}

// appendJSONString appends s as a JSON string. Bytes that are not UTF-8
// pass as they are (encoding/json reads them as U+FFFD, as it would have
// written them).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// StateDir is where state files live.
func StateDir() string { return filepath.Join(RuntimeBase(), "state") }

// ErrNameInUse is returned when a running container has the name.
var ErrNameInUse = errors.New("name in use")

// createState records a starting container. It refuses a name in use by a
// running container; the state of a dead one is cleaned up first.
func createState(p *plan.Plan, options map[string]map[string]string, replay HookReplayer, log io.Writer) (*State, error) {
	dir := StateDir()
	if err := PrivateDir(RuntimeBase()); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if err := PrivateDir(dir); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	s := &State{Version: stateVersion, ContainerID: p.ContainerID, Owner: os.Getpid(), path: filepath.Join(dir, p.ContainerID+".json")}
	for _, st := range p.Steps {
		var root string
		switch {
		case st.Mount != nil && st.Mount.Root != "":
			root = st.Mount.Root
		case st.Chroot != nil:
			root = st.Chroot.Path
		case st.PivotRoot != nil:
			root = st.PivotRoot.Path
		default:
			continue
		}
		if r := HostPath(filepath.Clean(root)); !slices.Contains(s.Roots, r) {
			s.Roots = append(s.Roots, r)
		}
	}
	for _, h := range p.HostSteps {
		if h.Point != spec.HookAfterExit {
			continue
		}
		s.AfterExit = append(s.AfterExit, h)
		if h.Hook != nil {
			if s.HookPlugins == nil {
				s.HookPlugins = map[string]HookPlugin{}
			}
			hp := HookPlugin{Options: options[h.Plugin]}
			for _, pl := range p.Plugins {
				if pl.Name == h.Plugin {
					hp.Origin = pl.Origin
				}
			}
			s.HookPlugins[h.Plugin] = hp
		}
	}
	for attempt := 0; attempt < 3; attempt++ {
		err := s.publish()
		if !errors.Is(err, os.ErrExist) {
			if err != nil {
				return nil, fmt.Errorf("create state file %s: %w", s.path, err)
			}
			return s, nil
		}
		old, err := lockState(s.path)
		switch {
		case errors.Is(err, unix.EWOULDBLOCK):
			owner := ""
			if o, rerr := readState(s.path); rerr == nil {
				owner = fmt.Sprintf(" (crun pid %d)", o.Owner)
			}
			return nil, fmt.Errorf("container %q is already running%s: %w; choose another --name", p.ContainerID, owner, ErrNameInUse)
		case errors.Is(err, os.ErrNotExist):
			continue // just cleaned up by someone else
		case err != nil:
			return nil, err
		}
		if err := old.Cleanup(replay); err != nil {
			old.release()
			return nil, fmt.Errorf("clean up after the earlier container %q: %w", p.ContainerID, err)
		}
		fmt.Fprintf(log, "crun: cleaned up after an earlier container %q whose crun (pid %d) was killed\n", old.ContainerID, old.Owner)
	}
	return nil, fmt.Errorf("create state file %s: it keeps coming back", s.path)
}

// publish makes the state file appear whole and already locked: written
// and locked under a temporary name, then linked into place (link(2)
// fails if the name exists, like O_EXCL).
func (s *State) publish() error {
	f, err := os.CreateTemp(filepath.Dir(s.path), ".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return err
	}
	s.file = f
	if err := s.write(); err != nil {
		s.file, _ = nil, f.Close()
		return err
	}
	if err := os.Link(f.Name(), s.path); err != nil {
		s.file, _ = nil, f.Close()
		return err
	}
	return nil
}

// write saves the state in place (the lock is on this inode).
func (s *State) write() error {
	b := s.encode()
	// Overwrite, then cut what is left of a longer earlier state. Never
	// truncate to zero first: ext4 (auto_da_alloc) then flushes the file
	// to disk when it is closed, which costs a run a quarter of a
	// millisecond where the runtime directory is not a tmpfs.
	if _, err := s.file.WriteAt(b, 0); err != nil {
		return err
	}
	return s.file.Truncate(int64(len(b)))
}

// addMount records a host mount the child is about to make.
func (s *State) addMount(m HostMount) error {
	s.Mounts = append(s.Mounts, m)
	return s.write()
}

// setMounts records the host mounts again (one has its id now).
func (s *State) setMounts(mounts []HostMount) error {
	s.Mounts = append(s.Mounts[:0], mounts...)
	return s.write()
}

// keepOnly leaves in the state file only what could not be undone yet
// because another container uses it (mounts covered by its mounts, mount
// points in its root), with nothing else to undo, and lets go of it: the
// first cleanup after that container finishes the job. The file moves
// to CoveredDir, so that the container's name is free again.
func (s *State) keepOnly(mounts []HostMount, created []HostPath) error {
	s.Mounts, s.Created, s.AfterExit, s.Roots = mounts, created, nil, nil
	err := s.write()
	if err == nil && filepath.Dir(s.path) != CoveredDir() {
		err = os.MkdirAll(CoveredDir(), 0o700)
		if err == nil {
			moved := filepath.Join(CoveredDir(), fmt.Sprintf("%s-%d.json", s.ContainerID, time.Now().UnixNano()))
			if err = os.Rename(s.path, moved); err == nil {
				s.path = moved
			}
		}
	}
	s.release()
	if err != nil {
		return fmt.Errorf("record what another container still uses: %w", err)
	}
	return nil
}

// waitingForCleanup tells whether some container left something another
// one was using (CoveredDir is not empty).
func waitingForCleanup() bool {
	f, err := os.Open(CoveredDir())
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

// CoveredDir holds the state files of containers that are gone but whose
// mounts are still covered by another container's.
func CoveredDir() string { return filepath.Join(StateDir(), "covered") }

// setCreated records the mount points made in the host's tree so far.
func (s *State) setCreated(paths []HostPath) error {
	s.Created = append([]HostPath{}, paths...)
	return s.write()
}

// remove deletes the state file once everything is undone, then lets go
// of the lock.
func (s *State) remove() {
	os.Remove(s.path)
	s.release()
}

// release lets go of the lock (the file stays, for crun cleanup).
func (s *State) release() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

func readState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := decodeState(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	s.path = path
	return s, nil
}

// lockState takes the lock of the state file at path, without waiting:
// EWOULDBLOCK means its owner runs. The returned state holds the lock.
func lockState(path string) (*State, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	// The file may have been unlinked (cleaned) between open and lock.
	var st1, st2 unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st1) != nil || unix.Stat(path, &st2) != nil || st1.Ino != st2.Ino {
		f.Close()
		return nil, os.ErrNotExist
	}
	s, err := readState(path)
	if err != nil {
		// Unreadable but unlocked: nobody will ever finish it. It goes,
		// and the cleaner says what may be left.
		s = &State{path: path, ContainerID: strings.TrimSuffix(filepath.Base(path), ".json"), unreadable: err}
	}
	s.file = f
	return s, nil
}

// Cleanup undoes what the state records: unmounts (newest first) and
// after-exit host steps; then removes the state file. The caller holds
// the lock.
func (s *State) Cleanup(replay HookReplayer) error {
	if errors.Is(s.unreadable, errNewerState) {
		return s.unreadable // the crun that wrote it knows what it means
	}
	var errs []error
	covered, err := undoMounts(s.Mounts)
	if err != nil {
		errs = append(errs, err)
	}
	inUse := removeCreated(s.Created, s.path)
	for _, h := range s.AfterExit {
		if err := s.runAfterExit(h, replay); err != nil {
			errs = append(errs, fmt.Errorf("plugin %q: %s: %w", h.Plugin, plan.DescribeHostStep(h.HostStep), err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(covered)+len(inUse) > 0 {
		if err := s.keepOnly(covered, inUse); err != nil {
			return err
		}
		if len(covered) > 0 {
			return fmt.Errorf("%d of its mounts, on %s: %w", len(covered), covered[0].Path, errCovered)
		}
		return fmt.Errorf("%d of its mount points, %s: %w", len(inUse), inUse[0], errCovered)
	}
	s.remove()
	return nil
}

// runAfterExit performs one recorded after-exit step: a live hook through
// its plugin, launched again by replay; another step by crun itself.
func (s *State) runAfterExit(h plan.HostStep, replay HookReplayer) error {
	if h.Hook == nil {
		return runHostAction(h, 0, io.Discard)
	}
	p, ok := s.HookPlugins[h.Plugin]
	switch {
	case !ok:
		return errors.New("the state file does not say where the plugin is")
	case replay == nil:
		return errors.New("its after-exit hook needs the plugin: run crun cleanup")
	}
	// The replayer bounds the call (Engine.HookTimeout).
	return replay(context.Background(), h.Plugin, p, spec.HookRequest{Point: h.Point, Name: h.Hook.Name, ContainerID: s.ContainerID, Options: p.Options})
}

// Cleaned is what CleanupStale did.
type Cleaned struct {
	// Containers are the ids of the containers cleaned up after.
	Containers []string
	// Waiting says, for each container whose mounts are still covered
	// by another container's (no mount namespace, one rootfs), which:
	// they are unmounted by the first cleanup after that one ends.
	Waiting []string
}

// CleanupStale cleans up after every container whose crun is gone;
// replay calls their plugins' after-exit hooks.
func CleanupStale(replay HookReplayer) (Cleaned, error) {
	var done Cleaned
	// Only what is ours: state files replay host steps.
	if err := PrivateDir(RuntimeBase()); err != nil {
		return done, err
	}
	if err := PrivateDir(StateDir()); err != nil {
		return done, err
	}
	SweepRuntimeDirs(RuntimeBase())
	// A crun killed while it published its state leaves a temporary file.
	tmps, _ := filepath.Glob(filepath.Join(StateDir(), ".new-*"))
	for _, t := range tmps {
		if fi, err := os.Stat(t); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.Remove(t)
		}
	}
	paths, _ := filepath.Glob(filepath.Join(StateDir(), "*.json"))
	var errs []error
	// Containers first, then those waiting for a cover to go, again as
	// long as one of them goes (they may cover each other).
	waiting := map[string]string{}
	for pass, progress := 0, true; progress; pass++ {
		progress = false
		if pass > 0 {
			paths, _ = filepath.Glob(filepath.Join(CoveredDir(), "*.json"))
		}
		for _, p := range paths {
			s, err := lockState(p)
			if err != nil {
				continue // its crun runs (or someone else is cleaning it)
			}
			err = s.Cleanup(replay)
			switch {
			case errors.Is(err, errCovered):
				waiting[s.ContainerID] = fmt.Sprintf("container %q: %v", s.ContainerID, err)
				continue
			case err != nil:
				s.release()
				errs = append(errs, fmt.Errorf("container %q: %w", s.ContainerID, err))
				continue
			}
			if s.unreadable != nil {
				errs = append(errs, fmt.Errorf("container %q: its state file was unreadable (%v) and is removed: "+
					"what it recorded (a cgroup, mounts) may be left on the host", s.ContainerID, s.unreadable))
			}
			delete(waiting, s.ContainerID)
			done.Containers = append(done.Containers, s.ContainerID)
			progress = true
		}
		if pass == 0 {
			progress = true // the covered ones get their first pass
		}
	}
	for _, w := range waiting {
		done.Waiting = append(done.Waiting, w)
	}
	sort.Strings(done.Waiting)
	return done, errors.Join(errs...)
}
