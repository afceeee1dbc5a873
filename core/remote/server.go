package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/crun-project/crun/core"
)

// Serve is the plugin host's side: it answers crun's requests on in and
// out with plugins from launcher, until in ends; then it stops them all.
func Serve(in io.Reader, out io.Writer, launcher core.Launcher) {
	s := &server{out: out, launcher: launcher, groups: map[int][]*core.Connection{}, byName: map[string]*core.Connection{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var wg sync.WaitGroup
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			s.reply(Response{Error: fmt.Sprintf("crun's plugin host: unreadable request: %v", err)})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.reply(s.handle(req))
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, conns := range s.groups {
		core.StopConnections(conns)
	}
}

type server struct {
	out      io.Writer
	launcher core.Launcher

	wmu sync.Mutex // one reply at a time on out

	mu        sync.Mutex
	groups    map[int][]*core.Connection
	byName    map[string]*core.Connection
	nextGroup int
}

func (s *server) reply(resp Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(Response{ID: resp.ID, Error: fmt.Sprintf("crun's plugin host: %v", err)})
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.out.Write(append(b, '\n'))
}

func (s *server) handle(req Request) Response {
	ctx := context.Background()
	if req.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	resp := Response{ID: req.ID}
	fail := func(err error) Response {
		resp.Error = err.Error()
		return resp
	}
	switch req.Op {
	case OpLaunch:
		conns, err := s.launcher.Launch(ctx, req.Sources, req.Pins)
		if err != nil {
			return fail(err)
		}
		s.mu.Lock()
		s.nextGroup++
		resp.Group = s.nextGroup
		s.groups[resp.Group] = conns
		for _, c := range conns {
			s.byName[c.Name] = c
		}
		s.mu.Unlock()
		return resp
	case OpStop:
		s.mu.Lock()
		conns := s.groups[req.Group]
		delete(s.groups, req.Group)
		s.mu.Unlock()
		core.StopConnections(conns)
		return resp
	}
	s.mu.Lock()
	c, ok := s.byName[req.Plugin]
	s.mu.Unlock()
	if !ok {
		return fail(fmt.Errorf("plugin %q: %s: not launched", req.Plugin, req.Op))
	}
	switch req.Op {
	case OpDescribe:
		d, err := c.Planner.Describe(ctx, req.Plugin)
		if err != nil {
			return fail(err)
		}
		resp.Description = &d
	case OpContribute:
		if req.Contribute == nil {
			return fail(fmt.Errorf("plugin %q: contribute: no request", req.Plugin))
		}
		cont, err := c.Planner.Contribute(ctx, req.Plugin, *req.Contribute)
		if err != nil {
			return fail(err)
		}
		resp.Contribution = &cont
	case OpHook:
		if req.Hook == nil {
			return fail(fmt.Errorf("plugin %q: hook: no request", req.Plugin))
		}
		if err := c.Planner.Hook(ctx, req.Plugin, *req.Hook); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("crun's plugin host: unknown operation %q", req.Op))
	}
	return resp
}
