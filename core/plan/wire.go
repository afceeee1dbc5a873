package plan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/crun-project/crun/sdk/spec"
)

// The plan's wire form: a compact binary encoding, for cache entries and
// for crun's init (which gets the ForChild part). encoding/json's first
// decode in a process builds its decoders for every type of the plan:
// 300-400 µs for a cached plan in crun, 200 µs in the init, on the path
// of every container start; this takes a few microseconds. JSON stays
// the plan's public form (crun plan --json).
//
// All numbers are uvarints; a string is its length then its bytes; a
// list is its length plus one, or 0 for a nil list (so that a decoded
// plan prints as the encoded one did); a step is its plugin and its
// fields, then one byte naming its action, then the action's fields, in
// a fixed order. A field added to the plan or to a step action must be
// added here too: TestWireCoversEveryField fails until it is.

// wireMagic starts every encoding; its last byte is the version.
const wireMagic = "crun-plan-wire\x04"

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
	wireRlimit
	wireSetUser
	wireCapabilities
	wireNoNewPrivs
	wireSeccomp
	wireMask
)

// Host step actions on the wire.
const (
	wireHostMkdir byte = iota + 1
	wireWriteFile
	wireWritePid
	wireRemoveDir
	wireKillCgroup
	wireReport
	wireHook
	wireIDMap
)

// Marshal encodes a plan in its wire form.
func Marshal(p *Plan) ([]byte, error) {
	w := wireWriter{buf: make([]byte, 0, 4096)}
	w.buf = append(w.buf, wireMagic...)
	w.uint(uint64(p.FormatVersion))
	w.string(p.ContainerID)
	w.len(p.Plugins == nil, len(p.Plugins))
	for _, pl := range p.Plugins {
		w.string(pl.Name)
		w.string(pl.Version)
		w.string(pl.Origin)
	}
	w.namespaces(p.Namespaces)
	w.strings(p.CloneFlags)
	w.len(p.HostSteps == nil, len(p.HostSteps))
	for i, h := range p.HostSteps {
		if err := w.hostStep(h); err != nil {
			return nil, fmt.Errorf("host step %d: %w", i+1, err)
		}
	}
	w.len(p.Steps == nil, len(p.Steps))
	for i, s := range p.Steps {
		if err := w.step(s); err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	w.strings(p.Command)
	w.strings(p.Env)
	w.bool(p.ReapingInit)
	w.string(p.CloneIntoCgroup)
	w.string(p.CgroupPlugin)
	w.strings(p.DependsOn)
	w.bool(p.Uncacheable)
	w.len(p.Warnings == nil, len(p.Warnings))
	for _, wa := range p.Warnings {
		w.string(wa.Plugin)
		w.string(wa.Message)
	}
	return w.buf, nil
}

// EncodeForChild encodes p.ForChild(), what crun sends its init.
func EncodeForChild(p *Plan) ([]byte, error) { return Marshal(p.ForChild()) }

// DecodeForChild decodes what EncodeForChild encoded.
func DecodeForChild(b []byte) (*Plan, error) { return Unmarshal(b, nil) }

func (w *wireWriter) step(s Step) error {
	w.string(s.Plugin)
	w.string(string(s.Phase))
	w.namespaces(s.Requires)
	w.string(s.Why)
	n := 0
	if m := s.Mount; m != nil {
		n++
		w.byte(wireMount)
		w.string(m.Source)
		w.string(m.Target)
		w.string(m.FSType)
		w.strings(m.Flags)
		w.string(m.Data)
		w.bool(m.CreateTarget)
		w.string(m.Root)
		w.bool(m.IfExists)
	}
	if h := s.Sethostname; h != nil {
		n++
		w.byte(wireSethostname)
		w.string(h.Hostname)
	}
	if m := s.Mkdir; m != nil {
		n++
		w.byte(wireMkdir)
		w.string(m.Path)
		w.uint(uint64(m.Mode))
	}
	if l := s.Symlink; l != nil {
		n++
		w.byte(wireSymlink)
		w.string(l.Target)
		w.string(l.Link)
	}
	if c := s.Chdir; c != nil {
		n++
		w.byte(wireChdir)
		w.string(c.Path)
	}
	if c := s.Chroot; c != nil {
		n++
		w.byte(wireChroot)
		w.string(c.Path)
	}
	if p := s.PivotRoot; p != nil {
		n++
		w.byte(wirePivotRoot)
		w.string(p.Path)
	}
	if c := s.CopyFile; c != nil {
		n++
		w.byte(wireCopyFile)
		w.string(c.Source)
		w.string(c.Target)
		w.string(c.Root)
		w.uint(uint64(c.Mode))
	}
	if j := s.JoinCgroup; j != nil {
		n++
		w.byte(wireJoinCgroup)
		w.string(j.Path)
	}
	if m := s.Mask; m != nil {
		n++
		w.byte(wireMask)
		w.string(m.Path)
		w.bool(m.ReadOnly)
	}
	if r := s.Rlimit; r != nil {
		n++
		w.byte(wireRlimit)
		w.string(r.Resource)
		w.uint(r.Soft)
		w.uint(r.Hard)
	}
	if u := s.SetUser; u != nil {
		n++
		w.byte(wireSetUser)
		w.uint(uint64(u.UID))
		w.uint(uint64(u.GID))
		w.len(u.Groups == nil, len(u.Groups))
		for _, g := range u.Groups {
			w.uint(uint64(g))
		}
		w.bool(u.KeepGroups)
	}
	if c := s.Capabilities; c != nil {
		n++
		w.byte(wireCapabilities)
		for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			w.strings(set)
		}
	}
	if s.NoNewPrivs != nil {
		n++
		w.byte(wireNoNewPrivs)
	}
	if sc := s.Seccomp; sc != nil {
		n++
		w.byte(wireSeccomp)
		w.string(sc.DefaultAction)
		w.optionalUint(sc.DefaultErrno)
		w.strings(sc.Architectures)
		w.strings(sc.Flags)
		w.len(sc.Syscalls == nil, len(sc.Syscalls))
		for _, r := range sc.Syscalls {
			w.strings(r.Names)
			w.string(r.Action)
			w.optionalUint(r.Errno)
			w.len(r.Args == nil, len(r.Args))
			for _, a := range r.Args {
				w.uint(uint64(a.Index))
				w.uint(a.Value)
				w.uint(a.ValueTwo)
				w.string(a.Op)
			}
		}
	}
	if n != 1 {
		return fmt.Errorf("%d actions, want exactly one", n)
	}
	return nil
}

func (w *wireWriter) hostStep(h HostStep) error {
	w.string(h.Plugin)
	w.string(string(h.Point))
	w.string(h.Why)
	n := 0
	if m := h.Mkdir; m != nil {
		n++
		w.byte(wireHostMkdir)
		w.string(m.Path)
		w.uint(uint64(m.Mode))
	}
	if f := h.WriteFile; f != nil {
		n++
		w.byte(wireWriteFile)
		w.string(f.Path)
		w.string(f.Content)
		w.bool(f.IfExists)
	}
	if p := h.WritePid; p != nil {
		n++
		w.byte(wireWritePid)
		w.string(p.Path)
	}
	if r := h.RemoveDir; r != nil {
		n++
		w.byte(wireRemoveDir)
		w.string(r.Path)
	}
	if k := h.KillCgroup; k != nil {
		n++
		w.byte(wireKillCgroup)
		w.string(k.Path)
	}
	if r := h.Report; r != nil {
		n++
		w.byte(wireReport)
		w.string(r.Path)
		w.string(r.Key)
		w.string(r.Label)
		w.bool(r.NonZero)
		w.string(r.Unit)
	}
	if k := h.Hook; k != nil {
		n++
		w.byte(wireHook)
		w.string(k.Name)
	}
	if m := h.IDMap; m != nil {
		n++
		w.byte(wireIDMap)
		w.idRanges(m.UIDs)
		w.idRanges(m.GIDs)
		w.bool(m.DenySetgroups)
	}
	if n != 1 {
		return fmt.Errorf("%d actions, want exactly one", n)
	}
	return nil
}

// Unmarshal decodes a plan's wire form. rewrite, when not nil, is applied
// to every string (a cached plan gets the run's container id so).
func Unmarshal(b []byte, rewrite func(string) string) (*Plan, error) {
	if len(b) < len(wireMagic) || string(b[:len(wireMagic)]) != wireMagic {
		return nil, errors.New("not a plan in crun's wire form (crun and crun-plugins from different versions?)")
	}
	r := wireReader{buf: b[len(wireMagic):], rewrite: rewrite}
	p := &Plan{FormatVersion: int(r.uint())}
	p.ContainerID = r.string()
	if n, ok := r.len(3); ok {
		p.Plugins = make([]Plugin, n)
		for i := range p.Plugins {
			p.Plugins[i] = Plugin{Name: r.string(), Version: r.string(), Origin: r.string()}
		}
	}
	p.Namespaces = r.namespaces()
	p.CloneFlags = r.strings()
	if n, ok := r.len(4); ok {
		p.HostSteps = make([]HostStep, n)
		for i := range p.HostSteps {
			r.hostStep(&p.HostSteps[i], i)
		}
	}
	if n, ok := r.len(5); ok {
		p.Steps = make([]Step, n)
		for i := range p.Steps {
			r.step(&p.Steps[i], i)
		}
	}
	p.Command = r.strings()
	p.Env = r.strings()
	p.ReapingInit = r.bool()
	p.CloneIntoCgroup = r.string()
	p.CgroupPlugin = r.string()
	p.DependsOn = r.strings()
	p.Uncacheable = r.bool()
	if n, ok := r.len(2); ok {
		p.Warnings = make([]Warning, n)
		for i := range p.Warnings {
			p.Warnings[i] = Warning{Plugin: r.string(), Message: r.string()}
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

func (r *wireReader) step(s *Step, i int) {
	s.Plugin = r.string()
	s.Phase = spec.Phase(r.string())
	s.Requires = r.namespaces()
	s.Why = r.string()
	switch kind := r.byte(); kind {
	case wireMount:
		s.Mount = &spec.Mount{Source: r.string(), Target: r.string(), FSType: r.string(), Flags: r.strings(),
			Data: r.string(), CreateTarget: r.bool(), Root: r.string(), IfExists: r.bool()}
	case wireSethostname:
		s.Sethostname = &spec.Sethostname{Hostname: r.string()}
	case wireMkdir:
		s.Mkdir = &spec.Mkdir{Path: r.string(), Mode: r.uint32()}
	case wireSymlink:
		s.Symlink = &spec.Symlink{Target: r.string(), Link: r.string()}
	case wireChdir:
		s.Chdir = &spec.Chdir{Path: r.string()}
	case wireChroot:
		s.Chroot = &spec.Chroot{Path: r.string()}
	case wirePivotRoot:
		s.PivotRoot = &spec.PivotRoot{Path: r.string()}
	case wireCopyFile:
		s.CopyFile = &spec.CopyFile{Source: r.string(), Target: r.string(), Root: r.string(), Mode: r.uint32()}
	case wireJoinCgroup:
		s.JoinCgroup = &spec.JoinCgroup{Path: r.string()}
	case wireMask:
		s.Mask = &spec.Mask{Path: r.string(), ReadOnly: r.bool()}
	case wireRlimit:
		s.Rlimit = &spec.Rlimit{Resource: r.string(), Soft: r.uint(), Hard: r.uint()}
	case wireSetUser:
		u := &spec.SetUser{UID: r.uint32(), GID: r.uint32()}
		if n, ok := r.len(1); ok {
			u.Groups = make([]uint32, n)
			for i := range u.Groups {
				u.Groups[i] = r.uint32()
			}
		}
		u.KeepGroups = r.bool()
		s.SetUser = u
	case wireCapabilities:
		s.Capabilities = &spec.Capabilities{Bounding: r.strings(), Effective: r.strings(), Permitted: r.strings(),
			Inheritable: r.strings(), Ambient: r.strings()}
	case wireNoNewPrivs:
		s.NoNewPrivs = &spec.NoNewPrivs{}
	case wireSeccomp:
		s.Seccomp = r.seccomp()
	default:
		r.fail(fmt.Errorf("step %d: unknown action %d", i+1, kind))
	}
}

func (r *wireReader) hostStep(h *HostStep, i int) {
	h.Plugin = r.string()
	h.Point = spec.HookPoint(r.string())
	h.Why = r.string()
	switch kind := r.byte(); kind {
	case wireHostMkdir:
		h.Mkdir = &spec.Mkdir{Path: r.string(), Mode: r.uint32()}
	case wireWriteFile:
		h.WriteFile = &spec.WriteFile{Path: r.string(), Content: r.string(), IfExists: r.bool()}
	case wireWritePid:
		h.WritePid = &spec.WritePid{Path: r.string()}
	case wireRemoveDir:
		h.RemoveDir = &spec.RemoveDir{Path: r.string()}
	case wireKillCgroup:
		h.KillCgroup = &spec.KillCgroup{Path: r.string()}
	case wireReport:
		h.Report = &spec.Report{Path: r.string(), Key: r.string(), Label: r.string(), NonZero: r.bool(), Unit: r.string()}
	case wireHook:
		h.Hook = &spec.Hook{Name: r.string()}
	case wireIDMap:
		h.IDMap = &spec.IDMap{UIDs: r.idRanges(), GIDs: r.idRanges(), DenySetgroups: r.bool()}
	default:
		r.fail(fmt.Errorf("host step %d: unknown action %d", i+1, kind))
	}
}

func (r *wireReader) seccomp() *spec.Seccomp {
	sc := &spec.Seccomp{DefaultAction: r.string(), DefaultErrno: r.optionalUint32(), Architectures: r.strings(), Flags: r.strings()}
	if n, ok := r.len(3); ok {
		sc.Syscalls = make([]spec.SeccompRule, n)
		for i := range sc.Syscalls {
			rule := &sc.Syscalls[i]
			rule.Names, rule.Action, rule.Errno = r.strings(), r.string(), r.optionalUint32()
			if n, ok := r.len(4); ok {
				rule.Args = make([]spec.SeccompArg, n)
				for j := range rule.Args {
					rule.Args[j] = spec.SeccompArg{Index: uint(r.uint()), Value: r.uint(), ValueTwo: r.uint(), Op: r.string()}
				}
			}
		}
	}
	return sc
}

type wireWriter struct{ buf []byte }

func (w *wireWriter) idRanges(ranges []spec.IDRange) {
	w.len(ranges == nil, len(ranges))
	for _, r := range ranges {
		w.uint(uint64(r.Container))
		w.uint(uint64(r.Host))
		w.uint(uint64(r.Size))
	}
}

// optionalUint writes a number that may be absent: 0 for none, v+1.
func (w *wireWriter) optionalUint(v *uint32) {
	if v == nil {
		w.uint(0)
	} else {
		w.uint(uint64(*v) + 1)
	}
}

func (w *wireWriter) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *wireWriter) byte(b byte)   { w.buf = append(w.buf, b) }

func (w *wireWriter) string(s string) {
	w.uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// len writes a list's length, keeping nil apart from empty.
func (w *wireWriter) len(isNil bool, n int) {
	if isNil {
		w.uint(0)
	} else {
		w.uint(uint64(n) + 1)
	}
}

func (w *wireWriter) strings(l []string) {
	w.len(l == nil, len(l))
	for _, s := range l {
		w.string(s)
	}
}

func (w *wireWriter) namespaces(l []spec.Namespace) {
	w.len(l == nil, len(l))
	for _, ns := range l {
		w.string(string(ns))
	}
}

func (w *wireWriter) bool(b bool) {
	if b {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

// wireReader reads until its first error, then returns zero values.
type wireReader struct {
	buf     []byte
	err     error
	rewrite func(string) string
}

var errTruncated = errors.New("truncated")

func (r *wireReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *wireReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count checks a length of n items of at least size bytes each against
// what is left to read: damaged input cannot make the reader allocate
// more than the input could hold.
func (r *wireReader) count(n uint64, size int) int {
	if n > uint64(len(r.buf)/size) {
		r.fail(errTruncated)
		return 0
	}
	return int(n)
}

// len reads the length of a list of items of at least size bytes each;
// ok is false for a nil list.
func (r *wireReader) len(size int) (int, bool) {
	n := r.uint()
	if n == 0 || r.err != nil {
		return 0, false
	}
	return r.count(n-1, size), r.err == nil
}

// uint32 reads a number that must fit 32 bits (a file mode).
func (r *wireReader) uint32() uint32 {
	v := r.uint()
	if v > math.MaxUint32 {
		r.fail(fmt.Errorf("%d does not fit 32 bits", v))
		return 0
	}
	return uint32(v)
}

// optionalUint32 reads what optionalUint wrote.
func (r *wireReader) optionalUint32() *uint32 {
	v := r.uint()
	if v == 0 || r.err != nil {
		return nil
	}
	if v-1 > math.MaxUint32 {
		r.fail(fmt.Errorf("%d does not fit 32 bits", v-1))
		return nil
	}
	n := uint32(v - 1)
	return &n
}

func (r *wireReader) string() string {
	n := r.count(r.uint(), 1)
	if r.err != nil {
		return ""
	}
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	if r.rewrite != nil {
		s = r.rewrite(s)
	}
	return s
}

func (r *wireReader) strings() []string {
	n, ok := r.len(1)
	if !ok {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.string()
	}
	return l
}

func (r *wireReader) idRanges() []spec.IDRange {
	n, ok := r.len(3)
	if !ok {
		return nil
	}
	l := make([]spec.IDRange, n)
	for i := range l {
		l[i] = spec.IDRange{Container: r.uint32(), Host: r.uint32(), Size: r.uint32()}
	}
	return l
}

func (r *wireReader) namespaces() []spec.Namespace {
	n, ok := r.len(1)
	if !ok {
		return nil
	}
	l := make([]spec.Namespace, n)
	for i := range l {
		l[i] = spec.Namespace(r.string())
	}
	return l
}

func (r *wireReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.buf) == 0 {
		r.fail(errTruncated)
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *wireReader) bool() bool { return r.byte() == 1 }
