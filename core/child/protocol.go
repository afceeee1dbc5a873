// Package child is crun's init, crun-init: a Go program cloned into the
// new namespaces, which performs the plan's child steps and then executes
// the command. Most plans do not need it (package spawn's child runs their
// steps); those that keep an init as PID 1, or make mounts on the host,
// do. It also defines the small protocol between it and its parent.
//
// The protocol runs over a unix socket pair. The child's end is fd 3; it is
// close-on-exec in the child, so a successful execve closes it and the
// parent reads EOF: that is how the parent learns that the command is
// running.
//
//	parent (crun)                          child (crun init, new namespaces)
//	  |  clone /proc/self/exe as crun-init     |
//	  |--- plan {plan, child's wire form} ---->|  reads the plan, then blocks
//	  |  host steps at after-clone             |
//	  |  (cgroup attach, hooks, id maps)       |
//	  |--- go {trace} ------------------------>|  (or "plan" carries go:true,
//	  |                                        |  when there are no such steps)
//	  |                                        |  step 1, step 2, ...
//	  |<-- mount {step, path} -----------------|  only without a mount namespace:
//	  |  record the host mount (state file)    |  before each mount, which is
//	  |--- ack ------------------------------->|  then the host's
//	  |<-- create {step, paths} ---------------|  before making mount points in
//	  |  record them (state file)              |  the host's tree (not in a
//	  |--- ack ------------------------------->|  rootfs)
//	  |<-- done {step, elapsed} ---------------|  after every step (only
//	  |                                        |  without a mount namespace)
//	  |<-- error {step, plugin, message, code}-|  on failure, then exit(code)
//	  |<-- exec -------------------------------|  about to execve
//	  |<-- EOF --------------------------------|  execve succeeded
//
// If the parent's end reaches EOF before "go", the parent is gone and the
// child exits without doing anything. EOF after "exec" means the command
// runs; EOF before it means the init died (killed, crashed) first.
//
// Messages are JSON, each preceded by its length as a 4-byte big-endian
// integer, except the plan, which is a binary frame (see planFrame).
package child

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// ProcessName is argv[0] of the child init: it tells crun's main to run
// the init instead of the CLI. The plan itself never travels in argv or
// the environment.
const ProcessName = "crun-init"

// SocketFD is the child's end of the protocol socket.
const SocketFD = 3

// Message types.
const (
	MsgPlan   = "plan"
	MsgGo     = "go"
	MsgDone   = "done"
	MsgMount  = "mount"
	MsgCreate = "create"
	MsgAck    = "ack"
	// MsgExec announces the execve (or, with a reaping init, the start
	// of the command): EOF without it means the init died first.
	MsgExec  = "exec"
	MsgError = "error"
)

// Message is one protocol message; Type says which fields are set.
type Message struct {
	Type string `json:"type"`

	// plan: the plan in the child's wire form (plan.EncodeForChild),
	// which the init decodes without encoding/json's start-up cost.
	Plan []byte `json:"plan,omitempty"`

	// go: Trace asks the child to report every step on its stderr too.
	Trace bool `json:"trace,omitempty"`
	// plan: TraceStart is when crun started (CLOCK_MONOTONIC, ns): the
	// child's trace lines give their time since then, as crun's do.
	TraceStart int64 `json:"trace_start,omitempty"`
	// plan: Go says the plan is also the go-ahead (the parent has no
	// host steps to do while the child waits), saving a round trip.
	Go bool `json:"go,omitempty"`

	// done and error: Step is the 1-based index in plan.Steps; 0 for the
	// exec itself.
	Step    int           `json:"step,omitempty"`
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// Mounted is, for a mount step, the path mounted on as the child saw
	// it (in "mount", the path about to be mounted on).
	Mounted string `json:"mounted,omitempty"`
	// Paths, in "create", are mount points about to be made in the host's
	// tree (the parent removes them when the container ends).
	Paths []string `json:"paths,omitempty"`

	// error
	Plugin   string `json:"plugin,omitempty"`
	What     string `json:"what,omitempty"`
	Err      string `json:"err,omitempty"`
	Hint     string `json:"hint,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
}

// maxMessage bounds a message, so a corrupt length cannot make a peer
// allocate without limit.
const maxMessage = 16 << 20

// The two ends avoid encoding/json where they can: its first use in a
// process builds its encoders or decoders for the message's types, about
// 100-200 µs in the init, which has just started, on the path of every
// container start. So the plan message is a binary frame (planFrame, a
// flags byte, TraceStart as 8 bytes big-endian, then the plan in the
// child's wire form), and a message
// with only a type (exec, go, ack) is written and read as the literal
// {"type":"..."}. Everything else is JSON.
const planFrame = "crun-plan-frame\x01"

// Flags of the plan frame.
const (
	planGo    = 1 << 0
	planTrace = 1 << 1
)

// WriteMessage sends one message.
func WriteMessage(w io.Writer, m Message) error {
	var body []byte
	switch {
	case m.Type == MsgPlan:
		var flags byte
		if m.Go {
			flags |= planGo
		}
		if m.Trace {
			flags |= planTrace
		}
		body = append([]byte(planFrame), flags)
		body = binary.BigEndian.AppendUint64(body, uint64(m.TraceStart))
		body = append(body, m.Plan...)
	case typeOnly(m):
		body = []byte(`{"type":"` + m.Type + `"}`)
	default:
		var err error
		if body, err = json.Marshal(m); err != nil {
			return fmt.Errorf("encode %s message: %w", m.Type, err)
		}
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err := w.Write(buf)
	return err
}

// typeOnly tells a message with nothing but a (plain) type.
func typeOnly(m Message) bool {
	rest := m
	rest.Type = ""
	return reflect.ValueOf(rest).IsZero() && !strings.ContainsAny(m.Type, `"\`)
}

// ReadMessage reads one message. It returns io.EOF, unwrapped, when the
// peer closed the socket between messages.
func ReadMessage(r io.Reader) (Message, error) {
	var m Message
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if err == io.EOF {
			return m, io.EOF
		}
		return m, fmt.Errorf("read message: %w", err)
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > maxMessage {
		return m, fmt.Errorf("read message: length %d over the limit", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return m, fmt.Errorf("read message: %w", err)
	}
	if rest, ok := bytes.CutPrefix(body, []byte(planFrame)); ok && len(rest) >= 9 {
		return Message{Type: MsgPlan, Go: rest[0]&planGo != 0, Trace: rest[0]&planTrace != 0,
			TraceStart: int64(binary.BigEndian.Uint64(rest[1:9])), Plan: rest[9:]}, nil
	}
	if t, ok := bytes.CutPrefix(body, []byte(`{"type":"`)); ok {
		if t, ok := bytes.CutSuffix(t, []byte(`"}`)); ok && !bytes.ContainsAny(t, `"\`) {
			return Message{Type: string(t)}, nil
		}
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("decode message: %w", err)
	}
	return m, nil
}
