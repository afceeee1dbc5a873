package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzFlags: no command line makes crun's parsing panic. The input is
// argv, its words separated by NUL bytes; it goes through what Main does
// before it runs anything: the flags before the command word, those
// after it, then request, as run and plan prepare it. Nothing is run.
// What is refused says why; what is accepted is a request holding the
// command as given, options that name a plugin and a key, and an
// environment of KEY=VALUE.
func FuzzFlags(f *testing.F) {
	for _, argv := range [][]string{
		{"--plugins", "uts,pid", "--rootfs", "/r", "-o", "uts.hostname=x", "run", "sh"},
		{"--plugins", "uts,pid,mnt,chroot", "--rootfs", "rel/root", "--tmpfs", "/tmp:size=64m", "--bind", "src:/dst:ro", "--read-only", "run", "--", "sh", "-c", "echo hi"},
		{"-p", "cgroup", "--pids-max", "20", "--memory", "64M", "--cpus", "0.5", "--stats", "run", "sh"},
		{"run", "-e", "A=1", "-e", "PATH", "-e", "CRUN_FUZZ_UNSET", "--env", "B=", "--host-env", "env"},
		{"-e", "=x", "run", "env"},
		{"--stop-timeout", "0", "--plugin-timeout", "1m30s", "run", "true"},
		{"--stop-timeout", "-1s", "run", "true"},
		{"--preserve-fds", "-3", "run", "true"},
		{"--preserve-fds", "99999999999999999999", "run", "true"},
		{"-o", "uts.hostname=a", "-o", "uts.hostname=b", "-o", "a.b.c=d=e", "-o", "p.k=", "run", "true"},
		{"-o", ".k=v", "-o", "p.=v", "-o", "bad", "run", "true"},
		{"--secret", "token=./tok", "--secret", "ca=/etc/ssl/ca.pem", "run", "true"},
		{"--secret", "=x", "--secret", "name=", "run", "true"},
		{"-u", "1000:1000", "--group-add", "10", "--group-add", "x", "run", "id"},
		{"plan", "--explain", "--diff", "uts,pid,mnt", "--json", "--plugins", "uts,pid,mnt,cgroup", "--", "sh"},
		{"--name", "web-1", "--trace", "--no-cache", "--log-level", "debug", "--plugin-path", "/a:/b", "--plugin-sha256", "x=00", "run", "true"},
		{"--plugins=uts", "--hostname=box", "run", "hostname"},
		{"-puts", "-ouuts.hostname=x", "-hu0", "run", "true"},
		{"--nosuchflag", "run", "true"},
		{"--plugins"},
		{"-", "--", "---", "--=", "-=", "run"},
		{"run", "--help"},
		{"rootfs", "import", "src", "dir"},
		{"probe", "--json"},
		{},
	} {
		f.Add(strings.Join(argv, "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		checkOption(t, line)
		var args []string
		if line != "" {
			args = strings.Split(line, "\x00")
		}
		var o options
		fs := newFlagSet(&o)
		fs.SetOutput(io.Discard)
		refused := func(what string, err error) {
			if err.Error() == "" {
				t.Fatalf("%q: %s: an error with no message", args, what)
			}
		}
		if err := fs.Parse(args); err != nil {
			refused("flags before the command word", err)
			return
		}
		rest := fs.Args()
		if o.help {
			_ = fs.FlagUsages()
			return
		}
		if len(rest) == 0 || rest[0] == "rootfs" {
			return // rootfs parses its own flags, and acts
		}
		if err := fs.Parse(rest[1:]); err != nil {
			refused("flags after the command word", err)
			return
		}
		command := fs.Args()
		if o.help {
			return
		}
		req, err := request(&o, command)
		if err != nil {
			refused("request", err)
			return
		}
		for _, kv := range o.opts {
			checkOption(t, kv)
		}
		if !slices.Equal(req.Command, command) {
			t.Fatalf("%q: command %q, want %q", args, req.Command, command)
		}
		if !slices.Equal(req.Plugins, o.plugins) {
			t.Fatalf("%q: plugins %q, want %q", args, req.Plugins, o.plugins)
		}
		if req.StopTimeout < 0 || req.PreserveFDs < 0 {
			t.Fatalf("%q: negative stop timeout %v or preserved fds %d accepted", args, req.StopTimeout, req.PreserveFDs)
		}
		for _, opt := range req.Options {
			if opt.Plugin == "" || opt.Key == "" {
				t.Fatalf("%q: option %+v lacks a plugin or a key", args, opt)
			}
		}
		for _, kv := range req.Env {
			if key, _, ok := strings.Cut(kv, "="); !ok || key == "" {
				t.Fatalf("%q: environment entry %q is not KEY=VALUE", args, kv)
			}
		}
	})
}

// checkOption: parseOption refuses with a message, or cuts PLUGIN.KEY=VALUE
// at the first dot and the first '=' into a plugin and a key that are not
// empty, and loses or moves nothing.
func checkOption(t *testing.T, s string) {
	t.Helper()
	opt, err := parseOption(s)
	if err != nil {
		if err.Error() == "" {
			t.Fatalf("-o %q: an error with no message", s)
		}
		return
	}
	if opt.Plugin == "" || opt.Key == "" || strings.Contains(opt.Plugin, ".") || strings.Contains(opt.Key, "=") ||
		opt.Plugin+"."+opt.Key+"="+opt.Value != s {
		t.Fatalf("-o %q read as %+v", s, opt)
	}
}
