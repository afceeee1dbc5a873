package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

	path string
	file *os.File // open and locked while the state is ours
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
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
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
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	s.path = path
	return &s, nil
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
		// Unreadable but unlocked: nobody will ever finish it.
		s = &State{path: path}
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
		cleaned = append(cleaned, s.ContainerID)
	}
	return cleaned, errors.Join(errs...)
}
