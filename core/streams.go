package core

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// outputGrace is how long crun copies a container's output after the
// container has ended: a process it left behind may hold the pipe open
// (without a PID namespace, a daemon), and crun must not wait for it.
const outputGrace = 2 * time.Second

// streams are the container's standard streams as files, which is what a
// child process can be given: crun's own files as they are, and for any
// other reader or writer (a library caller's buffer) a pipe that a
// goroutine copies through, as os/exec does.
type streams struct {
	files [3]*os.File
	// childEnds are the pipes' ends the child gets: crun closes its
	// copies once the child has them, so that the copies end.
	childEnds []*os.File
	// input is the write end of the stdin pipe, closed when the
	// container ends (its copier may be blocked reading the caller's
	// reader; it is not waited for).
	input *os.File
	// outputs are the read ends the output copiers read.
	outputs []*os.File
	copying sync.WaitGroup
}

func newStreams(stdio Stdio) (*streams, error) {
	s := &streams{}
	if stdio.In != nil {
		if f, ok := stdio.In.(*os.File); ok {
			s.files[0] = f
		} else {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, fmt.Errorf("the container's stdin: %w", err)
			}
			s.files[0], s.input = r, w
			s.childEnds = append(s.childEnds, r)
			go func() {
				_, _ = io.Copy(w, stdio.In)
				w.Close()
			}()
		}
	}
	for i, out := range []io.Writer{stdio.Out, stdio.Err} {
		if out == nil {
			continue
		}
		if f, ok := out.(*os.File); ok {
			s.files[i+1] = f
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			s.wait(0)
			return nil, fmt.Errorf("the container's output: %w", err)
		}
		s.files[i+1] = w
		s.childEnds = append(s.childEnds, w)
		s.outputs = append(s.outputs, r)
		s.copying.Add(1)
		go func() {
			defer s.copying.Done()
			_, _ = io.Copy(out, r)
		}()
	}
	return s, nil
}

// started closes crun's copies of the child's ends.
func (s *streams) started() {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
}

// wait, once the container has ended, lets its output be copied for at
// most grace, then stops the copies.
func (s *streams) wait(grace time.Duration) {
	s.started()
	if s.input != nil {
		s.input.Close()
	}
	copied := make(chan struct{})
	go func() {
		s.copying.Wait()
		close(copied)
	}()
	select {
	case <-copied:
	case <-time.After(grace):
	}
	for _, r := range s.outputs {
		r.Close()
	}
	<-copied
}
