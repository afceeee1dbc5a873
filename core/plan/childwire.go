package plan

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/crun-project/crun/sdk/spec"
)

// The child's wire form of a plan: what crun sends its init, in a compact
// binary encoding. encoding/json would need about 200 µs on the init's
// first decode (building its decoders for every step type, in a process
// that has just started), on the path of every container start; this
// takes a few microseconds. It carries the ForChild part only.
//
// All numbers are uvarints, strings and lists are a uvarint length then
// their content; a step is its plugin, its phase, one byte naming its
// action, then the action's fields in a fixed order. A field added to a
// step action must be added here too: TestChildWireCoversEveryField
// fails until it is.

// childWireMagic starts every encoding; its last byte is the version.
const childWireMagic = "crun-child-plan\x01"

// Step actions on the wire.
const (
	wireMount byte = iota + 1
	wireSethostname
	wireMkdir
	wireSymlink
	wireChdir
	wireChroot
	wirePivotRoot
	wireCopyFile
	wireJoinCgroup
)

// EncodeForChild encodes p.ForChild() in the child's wire form.
func EncodeForChild(p *Plan) ([]byte, error) {
	w := wireWriter{buf: make([]byte, 0, 2048)}
	w.buf = append(w.buf, childWireMagic...)
	w.uint(uint64(p.FormatVersion))
	w.string(p.ContainerID)
	w.uint(uint64(len(p.Namespaces)))
	for _, ns := range p.Namespaces {
		w.string(string(ns))
	}
	w.strings(p.Command)
	w.strings(p.Env)
	w.bool(p.ReapingInit)
	w.uint(uint64(len(p.Steps)))
	for i, s := range p.Steps {
		w.string(s.Plugin)
		w.string(string(s.Phase))
		if err := w.action(s.Step); err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return w.buf, nil
}

func (w *wireWriter) action(s spec.Step) error {
	n := 0
	if m := s.Mount; m != nil {
		n++
		w.buf = append(w.buf, wireMount)
		w.string(m.Source)
		w.string(m.Target)
		w.string(m.FSType)
		w.strings(m.Flags)
		w.string(m.Data)
		w.bool(m.CreateTarget)
		w.string(m.Root)
	}
	if h := s.Sethostname; h != nil {
		n++
		w.buf = append(w.buf, wireSethostname)
		w.string(h.Hostname)
	}
	if m := s.Mkdir; m != nil {
		n++
		w.buf = append(w.buf, wireMkdir)
		w.string(m.Path)
		w.uint(uint64(m.Mode))
	}
	if l := s.Symlink; l != nil {
		n++
		w.buf = append(w.buf, wireSymlink)
		w.string(l.Target)
		w.string(l.Link)
	}
	if c := s.Chdir; c != nil {
		n++
		w.buf = append(w.buf, wireChdir)
		w.string(c.Path)
	}
	if c := s.Chroot; c != nil {
		n++
		w.buf = append(w.buf, wireChroot)
		w.string(c.Path)
	}
	if p := s.PivotRoot; p != nil {
		n++
		w.buf = append(w.buf, wirePivotRoot)
		w.string(p.Path)
	}
	if c := s.CopyFile; c != nil {
		n++
		w.buf = append(w.buf, wireCopyFile)
		w.string(c.Source)
		w.string(c.Target)
		w.string(c.Root)
		w.uint(uint64(c.Mode))
	}
	if j := s.JoinCgroup; j != nil {
		n++
		w.buf = append(w.buf, wireJoinCgroup)
		w.string(j.Path)
	}
	if n != 1 {
		return fmt.Errorf("%d actions, want exactly one", n)
	}
	return nil
}

// DecodeForChild decodes the child's wire form.
func DecodeForChild(b []byte) (*Plan, error) {
	if len(b) < len(childWireMagic) || string(b[:len(childWireMagic)]) != childWireMagic {
		return nil, errors.New("not a plan in the child's wire form (crun and crun-init from different versions?)")
	}
	r := wireReader{buf: b[len(childWireMagic):]}
	p := &Plan{FormatVersion: int(r.uint())}
	p.ContainerID = r.string()
	if n := r.count(); n > 0 {
		p.Namespaces = make([]spec.Namespace, n)
		for i := range p.Namespaces {
			p.Namespaces[i] = spec.Namespace(r.string())
		}
	}
	p.Command = r.strings()
	p.Env = r.strings()
	p.ReapingInit = r.bool()
	p.Steps = make([]Step, r.count())
	for i := range p.Steps {
		s := &p.Steps[i]
		s.Plugin = r.string()
		s.Phase = spec.Phase(r.string())
		switch kind := r.byte(); kind {
		case wireMount:
			s.Mount = &spec.Mount{Source: r.string(), Target: r.string(), FSType: r.string(), Flags: r.strings(),
				Data: r.string(), CreateTarget: r.bool(), Root: r.string()}
		case wireSethostname:
			s.Sethostname = &spec.Sethostname{Hostname: r.string()}
		case wireMkdir:
			s.Mkdir = &spec.Mkdir{Path: r.string(), Mode: uint32(r.uint())}
		case wireSymlink:
			s.Symlink = &spec.Symlink{Target: r.string(), Link: r.string()}
		case wireChdir:
			s.Chdir = &spec.Chdir{Path: r.string()}
		case wireChroot:
			s.Chroot = &spec.Chroot{Path: r.string()}
		case wirePivotRoot:
			s.PivotRoot = &spec.PivotRoot{Path: r.string()}
		case wireCopyFile:
			s.CopyFile = &spec.CopyFile{Source: r.string(), Target: r.string(), Root: r.string(), Mode: uint32(r.uint())}
		case wireJoinCgroup:
			s.JoinCgroup = &spec.JoinCgroup{Path: r.string()}
		default:
			if r.err == nil {
				r.err = fmt.Errorf("step %d: unknown action %d", i+1, kind)
			}
		}
		if r.err != nil {
			break
		}
	}
	if r.err == nil && len(r.buf) != 0 {
		r.err = fmt.Errorf("%d bytes after the plan", len(r.buf))
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode the plan: %w", r.err)
	}
	return p, nil
}

type wireWriter struct{ buf []byte }

func (w *wireWriter) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

func (w *wireWriter) string(s string) {
	w.uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *wireWriter) strings(l []string) {
	w.uint(uint64(len(l)))
	for _, s := range l {
		w.string(s)
	}
}

func (w *wireWriter) bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// wireReader reads until its first error, then returns zero values.
type wireReader struct {
	buf []byte
	err error
}

var errTruncated = errors.New("truncated")

func (r *wireReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count reads a length, which cannot exceed what is left to read.
func (r *wireReader) count() int {
	n := r.uint()
	if n > uint64(len(r.buf)) {
		if r.err == nil {
			r.err = errTruncated
		}
		return 0
	}
	return int(n)
}

func (r *wireReader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	return s
}

func (r *wireReader) strings() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.string()
	}
	return l
}

func (r *wireReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.buf) == 0 {
		r.err = errTruncated
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *wireReader) bool() bool { return r.byte() == 1 }
