package core

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDependsChange(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("one"), 0o644)
	sub := filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o755)
	link := filepath.Join(dir, "link")
	os.Symlink(file, link)
	gone := filepath.Join(dir, "gone")
	before := map[string]string{}
	for _, p := range []string{file, sub, link, gone} {
		before[p] = fingerprint(p)
	}
	for _, p := range []string{file, sub, link, gone} {
		if how := dependsChange(p, before[p]); how != "" {
			t.Errorf("%s unchanged: %q", p, how)
		}
	}

	os.WriteFile(file, []byte("two"), 0o644)
	if how := dependsChange(file, before[file]); how != "its content" {
		t.Errorf("a file written again: %q", how)
	}
	// Another file renamed over it: another inode, whatever the content.
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("one"), 0o644)
	os.Rename(other, file)
	if how := dependsChange(file, before[file]); how != "its identity" {
		t.Errorf("a file replaced: %q", how)
	}
	os.Remove(link)
	os.Symlink(sub, link)
	if how := dependsChange(link, before[link]); how != "its identity" {
		t.Errorf("a symlink pointed elsewhere: %q", how)
	}
	os.Remove(sub)
	if how := dependsChange(sub, before[sub]); how != "now missing" {
		t.Errorf("a directory removed: %q", how)
	}
	os.Mkdir(gone, 0o755)
	if how := dependsChange(gone, before[gone]); how != "was missing" {
		t.Errorf("a directory made: %q", how)
	}
}

// namedInputs names the inputs of a request as a run that missed the
// cache does.
func namedInputs(t *testing.T, e *Engine, req Request) *cacheMiss {
	t.Helper()
	var sources []Source
	for _, p := range req.Plugins {
		sources = append(sources, Source{Name: p, Origin: BuiltinOrigin})
	}
	in := &resolved{req: req, sources: sources, base: baseEnv(req)}
	var err error
	if in.cacheKey, err = e.cacheKey(req, sources, in.base); err != nil {
		t.Fatal(err)
	}
	w := inputWriter{sums: map[string]string{}}
	if err := e.planInputs(&w, req, sources, in.base); err != nil {
		t.Fatal(err)
	}
	// Naming the inputs must not change what the key is made of.
	var plain inputWriter
	e.planInputs(&plain, req, sources, in.base)
	if !slices.Equal(w.buf, plain.buf) {
		t.Fatal("the named encoding differs from the key's")
	}
	return &cacheMiss{run: lastRun{Key: in.cacheKey, Inputs: w.sums}, names: w.names}
}

func TestChangesSinceTheLastRun(t *testing.T) {
	e := &Engine{Builtins: []string{"uts", "chroot"}}
	base := func() Request {
		return Request{Plugins: []string{"uts", "chroot"}, Command: []string{"true"}, Options: []Option{
			{Plugin: "uts", Key: "hostname", Value: "a"},
			{Plugin: "chroot", Key: "bind", Value: "/x:/x"},
			{Plugin: "chroot", Key: "bind", Value: "/y:/y"},
		}}
	}
	last := namedInputs(t, e, base()).run
	dir := t.TempDir()
	stay := filepath.Join(dir, "stay")
	os.WriteFile(stay, []byte("x"), 0o644)
	last.DependsOn = map[string]string{stay: fingerprint(stay), filepath.Join(dir, "later"): "missing"}
	os.WriteFile(filepath.Join(dir, "later"), nil, 0o644)

	tests := []struct {
		name   string
		change func(*Request)
		want   []string
	}{
		{"same", func(*Request) {}, nil},
		{"hostname", func(r *Request) { r.Options[0].Value = "b" }, []string{"option uts.hostname"}},
		{"second bind", func(r *Request) { r.Options[2].Value = "/z:/z" }, []string{"option chroot.bind"}},
		{"command and env", func(r *Request) { r.Command = []string{"false"}; r.Env = []string{"A=1"} }, []string{"command", "env"}},
		{"new option", func(r *Request) { r.Options = append(r.Options, Option{Plugin: "chroot", Key: "rootfs", Value: "/r"}) },
			[]string{"option chroot.rootfs (new)"}},
		{"option dropped", func(r *Request) { r.Options = r.Options[1:] }, []string{"option uts.hostname (removed)"}},
		{"order", func(r *Request) { r.Options[0], r.Options[1] = r.Options[1], r.Options[0] }, []string{"the order of the options"}},
	}
	for _, tt := range tests {
		req := base()
		tt.change(&req)
		m := namedInputs(t, e, req)
		if tt.want == nil {
			if m.run.Key != last.Key {
				t.Errorf("%s: another key", tt.name)
			}
			continue
		}
		want := append([]string{"depends " + filepath.Join(dir, "later") + " (was missing)"}, tt.want...)
		if got := m.changesSince(last); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", tt.name, got, want)
		}
	}
}

func TestListChanges(t *testing.T) {
	if got := listChanges([]string{"a", "b", "c", "d", "e", "f"}); got != "a, b, c, d and 2 more" {
		t.Errorf("%q", got)
	}
}
