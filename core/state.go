package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	ContainerID string `json:"container_id"`
	// Owner is the pid of the crun that runs the container (for
	// messages; the lock is what tells it is alive).
	Owner int `json:"owner"`
	// Mounts are the mounts the child makes in the host's mount
	// namespace, in order, each recorded before it is made.
	Mounts []HostMount `json:"mounts,omitempty"`
	// Created are mount points the child made in the host's tree.
	Created []string `json:"created,omitempty"`
	// AfterExit are the plan's after-exit host steps, without live hooks
	// (those need their plugin, which is gone with crun).
	AfterExit []plan.HostStep `json:"after_exit,omitempty"`

	path       string
	file       *os.File // open and locked while the state is ours
	unreadable error    // the file could not be read (lockState)
}

// encode returns the state file's content: the JSON encoding/json would
// write for it, written by hand. Every run writes one, and encoding/json's
// first use in a process, reflecting on the host steps' types, took
// 0.1-0.2 ms of a 3.5 ms run. (The file is read with encoding/json.)
func (s *State) encode() []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"container_id":`...)
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
			b = appendJSONString(b, m.Path)
			b = append(b, `,"below":`...)
			b = strconv.AppendInt(b, int64(m.Below), 10)
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
			b = appendJSONString(b, c)
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

// decodeState reads a state file's content.
func decodeState(b []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
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
func createState(p *plan.Plan, log io.Writer) (*State, error) {
	dir := StateDir()
	if err := PrivateDir(RuntimeBase()); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if err := PrivateDir(dir); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	s := &State{ContainerID: p.ContainerID, Owner: os.Getpid(), path: filepath.Join(dir, p.ContainerID+".json")}
	for _, h := range p.HostSteps {
		if h.Point == spec.HookAfterExit && h.Hook == nil {
			s.AfterExit = append(s.AfterExit, h)
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
		if err := old.Cleanup(); err != nil {
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

// setCreated records the mount points made in the host's tree so far.
func (s *State) setCreated(paths []string) error {
	s.Created = append([]string{}, paths...)
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
func (s *State) Cleanup() error {
	var errs []error
	if err := undoMounts(s.Mounts); err != nil {
		errs = append(errs, err)
	}
	removeCreated(s.Created)
	for _, h := range s.AfterExit {
		if err := runHostAction(h, 0, io.Discard); err != nil {
			errs = append(errs, fmt.Errorf("plugin %q: %s: %w", h.Plugin, plan.DescribeHostStep(h.HostStep), err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.remove()
	return nil
}

// CleanupStale cleans up after every container whose crun is gone and
// returns their ids.
func CleanupStale() ([]string, error) {
	// Only what is ours: state files replay host steps.
	if err := PrivateDir(RuntimeBase()); err != nil {
		return nil, err
	}
	if err := PrivateDir(StateDir()); err != nil {
		return nil, err
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
	var cleaned []string
	var errs []error
	for _, p := range paths {
		s, err := lockState(p)
		if err != nil {
			continue // its crun runs (or someone else is cleaning it)
		}
		if err := s.Cleanup(); err != nil {
			s.release()
			errs = append(errs, fmt.Errorf("container %q: %w", s.ContainerID, err))
			continue
		}
		if s.unreadable != nil {
			errs = append(errs, fmt.Errorf("container %q: its state file was unreadable (%v) and is removed: "+
				"what it recorded (a cgroup, mounts) may be left on the host", s.ContainerID, s.unreadable))
		}
		cleaned = append(cleaned, s.ContainerID)
	}
	return cleaned, errors.Join(errs...)
}
