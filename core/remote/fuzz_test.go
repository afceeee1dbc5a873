package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/sdk/spec"
)

// FuzzServe: whatever crun's plugin host reads on its stdin, it does not
// panic, answers every line with one line of JSON carrying the request's
// id (0 for a line that is not a request), returns once the input ends,
// and has by then stopped every plugin it launched.
func FuzzServe(f *testing.F) {
	for _, lines := range [][]string{
		{
			`{"id":1,"op":"launch","sources":[{"name":"uts","origin":"built-in"},{"name":"ext","origin":"/usr/lib/crun/plugins/crun-plugin-ext"}],"pins":{"ext":"00"}}`,
			`{"id":2,"op":"describe","plugin":"uts","timeout_ms":5000}`,
			`{"id":3,"op":"contribute","plugin":"uts","contribute":{"options":{"hostname":"box"},"plugins":["uts"],"container_id":"c1"}}`,
			`{"id":4,"op":"hook","plugin":"ext","hook":{"point":"after-clone","container_id":"c1","pid":42}}`,
			`{"id":5,"op":"stop","group":1}`,
		},
		{`{"id":1,"op":"launch","sources":[{"name":"a","origin":"built-in"}]}`, `{"id":2,"op":"launch","sources":[{"name":"a","origin":"built-in"}]}`, `{"id":3,"op":"stop","group":2}`},
		{`{"id":1,"op":"launch","sources":[{"name":"","origin":"built-in"}]}`, `{"id":2,"op":"launch"}`, `{"id":3,"op":"stop","group":-1}`},
		{`{"id":1,"op":"launch","sources":[{"name":"fail-x","origin":"built-in"}]}`, `{"id":2,"op":"describe","plugin":"fail-x"}`},
		{`{"id":7,"op":"contribute","plugin":"nope"}`, `{"id":8,"op":"hook"}`, `{"id":9,"op":"frobnicate"}`},
		{`{"id":1,"op":"launch","sources":[{"name":"p","origin":"built-in"}]}`, `{"id":2,"op":"contribute","plugin":"p"}`, `{"id":3,"op":"hook","plugin":"p"}`, `{"id":4,"op":"weird","plugin":"p"}`},
		{`{"id":1,"op":"launch","sources":[{"name":"p","origin":"built-in"}],"timeout_ms":9223372036854775807}`, `{"id":-1,"op":"describe","plugin":"p","timeout_ms":-5}`},
		{`{"id":1.5}`, `{"id":"1"}`, `null`, `[]`, `{`, ``, "\r", "{\"id\":2}\r", `{"id":3,"op":"launch","sources":null}{"id":4}`},
		{"\xff\xfe", `{"id":1,"op":"describe","plugin":"\ud800"}`},
	} {
		f.Add([]byte(strings.Join(lines, "\n")))
	}
	f.Add([]byte(`{"id":1,"op":"stop"}`)) // no newline at the end
	f.Fuzz(func(t *testing.T, in []byte) {
		l := &fakeLauncher{}
		var out bytes.Buffer
		served := make(chan struct{})
		go func() {
			defer close(served)
			Serve(bytes.NewReader(in), &out, l)
		}()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatalf("Serve has not returned 10s after its input ended")
		}

		var want []int
		sc := bufio.NewScanner(bytes.NewReader(in))
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			var req Request
			if json.Unmarshal(sc.Bytes(), &req) == nil {
				want = append(want, req.ID)
			} else {
				want = append(want, 0)
			}
		}
		var got []int
		for line := range strings.Lines(out.String()) {
			var resp Response
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&resp); err != nil || !strings.HasSuffix(line, "\n") || dec.More() {
				t.Fatalf("answer %q is not one line of JSON: %v", line, err)
			}
			got = append(got, resp.ID)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("answers carry the ids %v, want one per request line, %v; output:\n%s", got, want, out.String())
		}

		l.mu.Lock()
		defer l.mu.Unlock()
		if l.stopped != l.started {
			t.Fatalf("%d plugin processes started, %d stopped once the input ended", l.started, l.stopped)
		}
	})
}

// fakeLauncher launches no process: each group of plugins is served by
// one fakePlanner, and it counts how many it started and stopped. As
// launch.ProcessLauncher, it starts nothing for no plugin, and launches
// nothing when one plugin fails.
type fakeLauncher struct {
	mu               sync.Mutex
	started, stopped int
}

func (l *fakeLauncher) Launch(ctx context.Context, sources []core.Source, pins core.Pins) ([]*core.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, s := range sources {
		if s.Name == "" || strings.HasPrefix(s.Name, "fail") {
			return nil, fmt.Errorf("plugin %q: cannot start", s.Name)
		}
	}
	if len(sources) == 0 {
		return nil, nil
	}
	l.mu.Lock()
	l.started++
	l.mu.Unlock()
	stop := func() {
		l.mu.Lock()
		l.stopped++
		l.mu.Unlock()
	}
	return core.NewConnections(sources, fakePlanner{}, stop), nil
}

// fakePlanner answers at once, echoing what it was given, so that the
// answers carry whatever the requests held.
type fakePlanner struct{}

func (fakePlanner) Describe(ctx context.Context, name string) (spec.Description, error) {
	return spec.Description{Name: name, Version: "1.0.0", Summary: "a fake plugin"}, nil
}

func (fakePlanner) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	c := spec.Contribution{Env: []string{"CONTAINER=" + req.ContainerID}}
	for k, v := range req.Options {
		c.Env = append(c.Env, k+"="+v)
	}
	return c, nil
}

func (fakePlanner) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	if req.Pid <= 0 {
		return fmt.Errorf("plugin %q: hook %s: no container pid (%d)", name, req.Point, req.Pid)
	}
	return nil
}

// FuzzHostRead: whatever crun's plugin host writes on its stdout, crun
// does not panic or hang: each waiting call gets at most the one answer
// with its id, and once the output ends, calls fail instead of waiting.
func FuzzHostRead(f *testing.F) {
	for _, lines := range [][]string{
		{`{"id":1,"group":1}`, `{"id":2,"description":{"name":"uts","version":"1","summary":"s"}}`, `{"id":3,"contribution":{"env":["A=1"]}}`},
		{`{"id":2,"error":"plugin \"x\": boom"}`, `{"id":2}`, `{"id":1}`, `{"id":1}`},
		{`{"id":0}`, `{"id":-1}`, `{"id":99}`, `{"id":1.5}`, `{"id":"1"}`, `null`, `{`, ``, `{"id":3}{"id":4}`},
		{`{"id":3,"contribution":{"steps":[{"phase":"nope"}],"namespaces":["x"]}}`},
		{"\xff\xfe\r", `{"id":1,"error":"\ud800"}`},
	} {
		f.Add([]byte(strings.Join(lines, "\n")))
	}
	f.Add([]byte(`{"id":1,"group":7}`)) // no newline at the end
	f.Fuzz(func(t *testing.T, out []byte) {
		h := &host{in: discardCloser{}, pending: map[int]chan Response{}, done: make(chan struct{})}
		// Calls 1 to 3 are waiting, as call leaves them.
		waiting := map[int]chan Response{}
		for id := 1; id <= 3; id++ {
			waiting[id] = make(chan Response, 1)
			h.pending[id] = waiting[id]
		}
		h.nextID = 3
		read := make(chan struct{})
		go func() {
			defer close(read)
			h.read(bytes.NewReader(out))
		}()
		select {
		case <-read:
		case <-time.After(10 * time.Second):
			t.Fatalf("read has not returned 10s after the host's output ended")
		}
		select {
		case <-h.done:
		default:
			t.Fatalf("the host's output ended, and done is not closed")
		}
		for id, ch := range waiting {
			select {
			case resp := <-ch:
				if resp.ID != id {
					t.Fatalf("call %d got the answer to %d", id, resp.ID)
				}
				if _, still := h.pending[id]; still {
					t.Fatalf("call %d is answered and still pending", id)
				}
			default:
			}
		}
		// A later call fails at once: no answer can come any more.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := h.call(ctx, Request{Op: OpDescribe, Plugin: "uts"})
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a call after the host's output ended: %v, want an error at once", err)
		}
	})
}

// discardCloser stands for the host's stdin.
type discardCloser struct{}

func (discardCloser) Write(p []byte) (int, error) { return len(p), nil }
func (discardCloser) Close() error                { return nil }
