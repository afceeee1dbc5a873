package spawn

import (
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"
)

// The child's reports to crun, on a pipe, in fixed-size records:
//
//	crun                                   child (new namespaces)
//	  |  clone ----------------------------->|  closes crun's ends of the pipes
//	  |  host steps at after-clone           |  waits for the go-ahead (Attr.Wait)
//	  |--- go (one byte on the control pipe)>|
//	  |<-- start {time} ---------------------|  with --trace
//	  |<-- mount {step, path} ---------------|  no mount namespace: before each
//	  |  records it (state file)             |  mount, which is the host's
//	  |--- ack (one byte) ------------------>|
//	  |<-- mounted {step, mount id} ---------|  after it: what crun unmounts
//	  |<-- create {step, path} --------------|  before making a mount point in
//	  |  records it (state file)             |  the host's tree
//	  |--- ack ----------------------------->|
//	  |<-- done {step, time} ----------------|  after each step, with --trace
//	  |<-- fail {step, stage, errno} --------|  a system call failed: it exits
//	  |<-- exec {candidate} -----------------|  about to execve a candidate
//	  |<-- end of file ----------------------|  execve closed the pipe: the
//	                                            command runs
//
// End of file without an exec record before it means the child died (it
// was killed, or it crashed). A mount or create record is followed by
// Len bytes: the path. The control pipe reaching end of file tells the
// child crun is gone: it exits without doing anything more.

// kind is what a record reports.
type kind uint32

const (
	kindStart   kind = iota + 1 // the steps start (a time, for the first step's)
	kindDone                    // a step is done
	kindExec                    // the child is about to execute a candidate
	kindFail                    // a system call failed: the child exits
	kindMount                   // a mount on the host is about to be made (path follows)
	kindCreate                  // a mount point in the host's tree is about to be made (path follows)
	kindMounted                 // the host mount just made has id ID (Arg 1: the kernel's unique id)
)

// stage is which system call of a step (or of the child's own work)
// failed.
type stage uint32

const (
	stStep        stage = iota // the step's own call
	stOpenRoot                 // open the root a path is resolved in
	stPin                      // open the mount target inside the root
	stCreate                   // create a missing directory or file (Arg: 0 mkdir, 1 the file, 2 open)
	stBindSource               // stat a bind mount's source
	stHostPath                 // find the path a host mount is made on
	stAnnounce                 // tell crun about a host path and wait for it
	stChdir                    // pivot_root: chdir into the new root
	stPivot                    // pivot_root itself
	stDetach                   // unmount the old root
	stOpen                     // open a file (the cgroup's tasks file)
	stWrite                    // write it
	stOpenSource               // copy: open the source
	stOpenTarget               // copy: open the target
	stCopy                     // copy: the data
	stChmod                    // copy: the target's mode
	stSetgroups                // set_user: the supplementary groups
	stSetgid                   // set_user: the group
	stKeepcaps                 // set_user: keep the capabilities across the change
	stSetuid                   // set_user: the user
	stCapBound                 // capabilities: drop from the bounding set (Arg: which)
	stCapset                   // capabilities: the effective, permitted and inheritable sets
	stAmbient                  // capabilities: the ambient set (Arg: which)
	stTerminal                 // hand the terminal to the child
	stPdeathsig                // ask to be killed with crun
	stNofile                   // set RLIMIT_NOFILE
	stStdio                    // set up the standard streams (Arg: which)
	stDevNull                  // mask: open the container's /dev/null
	stFork                     // the reaping init forks the command
	stExec                     // execve (Arg: which candidate)
	stNotFound                 // no candidate exists
	stMountSource              // a bind mount's source is missing (the mount said ENOENT)
	stMountTarget              // a mount's target is missing (the mount said ENOENT, the source is there)
)

// record is one report. The child writes it whole (it is below PIPE_BUF).
type record struct {
	Kind, Step, Stage, Errno, Arg uint32
	Len                           uint32 // bytes of path after a mount or create record
	Time                          int64  // CLOCK_MONOTONIC ns, with Attr.Trace
	ID                            uint64 // a mounted record's mount id
}

const recordSize = unsafe.Sizeof(record{})

// Follower follows the child's progress. Every field may be nil.
type Follower struct {
	// Step and Exec are for --trace: each step done (with how long it
	// took, and when, on CLOCK_MONOTONIC), and the exec.
	Step func(index int, elapsed time.Duration, at int64)
	Exec func(path string, at int64)
	// Mount is told of a mount on the host (a plan without a mount
	// namespace) before it is made, with its path as the child sees it;
	// Create, of a mount point about to be made in the host's tree. The
	// child waits until they return; an error stops the run (the caller
	// kills the child).
	Mount  func(step int, path string) error
	Create func(step int, path string) error
	// Mounted is told the id of the host mount just made (after Mount);
	// unique is set for the kernel's 64-bit id, which is never reused.
	Mounted func(step int, id uint64, unique bool) error
}

// Follow reads the child's reports until it executes the command or
// fails. executing tells whether it announced the exec and then closed
// its end (execve closes it); failure is the error it reported. With
// neither, the child died before the exec.
func (c *Child) Follow(f Follower) (executing bool, failure *Failure, err error) {
	var rec record
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&rec)), recordSize)
	var last int64
	announced := -1
	var announcedAt int64
	for {
		if _, err := io.ReadFull(c.reports, buf); err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		} else if err != nil {
			return false, nil, fmt.Errorf("read the child's reports: %w", err)
		}
		switch kind(rec.Kind) {
		case kindStart:
			last = rec.Time
		case kindDone:
			if f.Step != nil {
				f.Step(int(rec.Step), time.Duration(rec.Time-last), rec.Time)
			}
			last = rec.Time
		case kindExec:
			announced, announcedAt = int(rec.Arg), rec.Time
		case kindFail:
			return false, c.prog.describe(rec), nil
		case kindMount, kindCreate:
			if err := c.acknowledge(rec, f); err != nil {
				return false, nil, err
			}
		case kindMounted:
			if f.Mounted != nil {
				if err := f.Mounted(int(rec.Step), rec.ID, rec.Arg == 1); err != nil {
					return false, nil, err
				}
			}
		default:
			return false, nil, fmt.Errorf("the child sent a report of unknown kind %d", rec.Kind)
		}
	}
	if announced < 0 || announced >= len(c.prog.candidates) && announced != execFromFD {
		return false, nil, nil
	}
	if f.Exec != nil {
		f.Exec(c.prog.candidate(announced), announcedAt)
	}
	return true, nil, nil
}

// acknowledge reads the path of a mount or create record, passes it to
// the follower and lets the child go on.
func (c *Child) acknowledge(rec record, f Follower) error {
	if rec.Len == 0 || rec.Len > maxPath || rec.Step == 0 || int(rec.Step) > len(c.prog.steps) {
		return fmt.Errorf("the child sent a malformed report (kind %d, step %d, %d bytes)", rec.Kind, rec.Step, rec.Len)
	}
	path := make([]byte, rec.Len)
	if _, err := io.ReadFull(c.reports, path); err != nil {
		return fmt.Errorf("read the child's reports: %w", err)
	}
	callback := f.Mount
	if kind(rec.Kind) == kindCreate {
		callback = f.Create
	}
	if callback != nil {
		if err := callback(int(rec.Step), string(path)); err != nil {
			return err
		}
	}
	if c.control == nil {
		return errors.New("the child waits for crun, which has no way to answer it")
	}
	if _, err := c.control.Write([]byte{1}); err != nil {
		return fmt.Errorf("answer the child: %w", err)
	}
	return nil
}
