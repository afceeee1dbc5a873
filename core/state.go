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
type State struct {
	ContainerID string `json:"container_id"`
	// Owner is the pid of the crun that runs the container, and
	// OwnerStart its start time, which tells a reused pid apart.
	Owner      int    `json:"owner"`
	OwnerStart uint64 `json:"owner_start"`
	// Mounts are the mounts the child makes in the host's mount
	// namespace, in order, each recorded before it is made.
	Mounts []HostMount `json:"mounts,omitempty"`
	// Created are mount points the child made in the host's tree.
	Created []string `json:"created,omitempty"`
	// AfterExit are the plan's after-exit host steps, without live hooks
	// (those need their plugin, which is gone with crun).
	AfterExit []plan.HostStep `json:"after_exit,omitempty"`

	path string
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
	s := &State{ContainerID: p.ContainerID, Owner: os.Getpid(), OwnerStart: processStart(os.Getpid()),
		path: filepath.Join(dir, p.ContainerID+".json")}
	for _, h := range p.HostSteps {
		if h.Point == spec.HookAfterExit && h.Hook == nil {
			s.AfterExit = append(s.AfterExit, h)
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		err := s.write(os.O_CREATE | os.O_EXCL)
		if !errors.Is(err, os.ErrExist) {
			return s, err
		}
		old, rerr := readState(s.path)
		if rerr == nil && old.alive() {
			return nil, fmt.Errorf("container %q is already running (crun pid %d): %w; choose another --name",
				p.ContainerID, old.Owner, ErrNameInUse)
		}
		if rerr == nil {
			if err := old.Cleanup(); err != nil {
				return nil, fmt.Errorf("clean up after the earlier container %q: %w", p.ContainerID, err)
			}
			fmt.Fprintf(log, "crun: cleaned up after an earlier container %q whose crun (pid %d) was killed\n", old.ContainerID, old.Owner)
		} else {
			os.Remove(s.path) // unreadable: a crash mid-write
		}
	}
	return nil, fmt.Errorf("create state file %s: it keeps coming back", s.path)
}

// write saves the state; flags add to O_WRONLY.
func (s *State) write(flags int) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := s.path
	if flags&os.O_EXCL == 0 {
		// Replace atomically: a reader never sees half a file.
		tmp = fmt.Sprintf("%s.tmp-%d", s.path, s.Owner)
		flags |= os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|flags, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if tmp != s.path {
		return os.Rename(tmp, s.path)
	}
	return nil
}

// addMount records a host mount the child is about to make.
func (s *State) addMount(m HostMount) error {
	s.Mounts = append(s.Mounts, m)
	return s.write(0)
}

// setCreated records the mount points made in the host's tree so far.
func (s *State) setCreated(paths []string) error {
	s.Created = append([]string{}, paths...)
	return s.write(0)
}

// remove deletes the state file once everything is undone.
func (s *State) remove() {
	os.Remove(s.path)
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

// alive reports whether the crun that owns the state still runs.
func (s *State) alive() bool {
	if err := unix.Kill(s.Owner, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	return processStart(s.Owner) == s.OwnerStart
}

// Cleanup undoes what the state records: unmounts (newest first) and
// after-exit host steps; then removes the state file.
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
	// A crun killed while it replaced its state file leaves the new copy.
	tmps, _ := filepath.Glob(filepath.Join(StateDir(), "*.json.tmp-*"))
	for _, t := range tmps {
		pid, err := strconv.Atoi(t[strings.LastIndex(t, "-")+1:])
		if err == nil && errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			os.Remove(t)
		}
	}
	paths, _ := filepath.Glob(filepath.Join(StateDir(), "*.json"))
	var cleaned []string
	var errs []error
	for _, p := range paths {
		s, err := readState(p)
		if err != nil {
			continue // being written by a live crun
		}
		if s.alive() {
			continue
		}
		if err := s.Cleanup(); err != nil {
			errs = append(errs, fmt.Errorf("container %q: %w", s.ContainerID, err))
			continue
		}
		cleaned = append(cleaned, s.ContainerID)
	}
	return cleaned, errors.Join(errs...)
}

// processStart returns a process's start time (in clock ticks since boot),
// or 0 when it cannot be read.
func processStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ")".
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64) // field 22: starttime
	return v
}
