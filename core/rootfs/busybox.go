package rootfs

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
)

// busyboxPaths is where Create looks for busybox when not told; a
// variable so that tests can point it at places with no busybox.
var busyboxPaths = []string{"/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox", "/sbin/busybox"}

const staticAdvice = "install a static busybox with: apt-get install busybox-static"

// findBusybox returns the busybox to use: the one given, or the first
// found in busyboxPaths. It must be statically linked, because the
// rootfs has no dynamic loader or libraries for it.
func findBusybox(given string) (string, error) {
	if given != "" {
		if err := checkStatic(given); err != nil {
			return "", err
		}
		return given, nil
	}
	for _, p := range busyboxPaths {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if err := checkStatic(p); err != nil {
			return "", err
		}
		return p, nil
	}
	return "", fmt.Errorf("no busybox found in %s; %s", strings.Join(busyboxPaths, ", "), staticAdvice)
}

// checkStatic refuses anything but a statically linked ELF executable.
// A PT_INTERP program header names the dynamic loader, so its presence
// is what makes an executable dynamic.
func checkStatic(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return fmt.Errorf("check busybox %s: %w; %s", file, err, staticAdvice)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked and would not run inside the rootfs; %s", file, staticAdvice)
		}
	}
	return nil
}

// appletDirs are the directories busybox installs applets into; a name
// anywhere else in its list means something unexpected is going on.
var appletDirs = map[string]bool{".": true, "bin": true, "sbin": true, "usr/bin": true, "usr/sbin": true}

// applets asks busybox which applets it has and where they belong, as
// paths relative to the root ("bin/sh", "usr/bin/awk").
func applets(busybox string) ([]string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(busybox, "--list-full")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list applets with %s --list-full: %w: %s", busybox, err, strings.TrimSpace(stderr.String()))
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name := strings.TrimPrefix(line, "/")
		if name != path.Clean(name) || !appletDirs[path.Dir(name)] || name == "." {
			return nil, fmt.Errorf("list applets with %s --list-full: unexpected applet path %q", busybox, line)
		}
		if name == "bin/busybox" {
			continue
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("list applets with %s --list-full: no applets listed", busybox)
	}
	return names, nil
}
