package core

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Prestarted is crun's init started at the very beginning of crun's main,
// before the command line is parsed: from a hint, left by the last run of
// the same command line (in the same directory), of how that run's init
// was cloned. Working out the plan's cache key takes crun 0.1-0.3 ms; the
// init's Go runtime starts in the meantime. A hint is only a guess: Run
// uses the child only if the plan, once checked, needs exactly those
// namespaces, and kills it otherwise, as it does when anything fails
// first.
type Prestarted struct {
	key    string // the hint's name: the command line's
	header string // the hint read, "" when there was none
	run    *parentRun
}

// Prestart looks up the hint of args (crun's arguments, without argv[0])
// and starts crun's init from it. It never fails: without a usable hint
// it starts nothing. Call Discard when the run does not happen.
func Prestart(args []string, stdio Stdio) *Prestarted {
	p := &Prestarted{key: hintKey(args)}
	if p.key == "" {
		return p
	}
	b, err := readHint(hintPath(p.key))
	if err != nil {
		return p
	}
	// The file is the slot's: it may be another command line's.
	key, header, ok := strings.Cut(string(b), "\n")
	if !ok || key != p.key {
		return p
	}
	p.header = header
	var hit cacheHit
	if !hit.parseHeader(strings.TrimSuffix(p.header, "\n")) || hit.cloneIntoCgroup || !filesOnly(stdio) {
		return p
	}
	p.run = &parentRun{stdio: stdio, terminal: -1}
	p.run.startEarly(hit.namespaces)
	return p
}

// hintKey names the hint of a command line: the arguments and the
// working directory (relative paths mean another thing elsewhere).
func hintKey(args []string) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(wd))
	for _, a := range args {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// hintPath is where the hint of key lives: one of 256 slots, so that
// command lines that never repeat (a fresh --name each time) cannot fill
// the directory. The file starts with its key; another command line's
// hint in the same slot is not used, and is overwritten by the next run.
func hintPath(key string) string {
	return filepath.Join(CacheDir(), "hint-"+key[:2])
}

// readHint reads a hint, never through a symlink, and only from crun's
// own private cache directory (without making it: crun version or crun
// --help must not).
func readHint(path string) ([]byte, error) {
	if err := checkPrivate(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// O_NONBLOCK: a FIFO planted there must not block crun.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	buf := make([]byte, 256)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// take hands the prestarted child, if any, to the run r.
func (p *Prestarted) take(r *parentRun) {
	if p == nil || p.run == nil {
		return
	}
	r.early = p.run.early
	p.run = nil
	if r.early != nil {
		r.tracef("crun init prestarted, from the hint of the last run of this command line")
	}
}

// remember leaves the hint for the next run of the same command line,
// when it would be another than the one found.
func (p *Prestarted) remember(header string) {
	if p == nil || p.key == "" || p.header == header {
		return
	}
	dir := CacheDir()
	if PrivateDir(dir) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, "hint.tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(p.key + "\n" + header)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), hintPath(p.key)) != nil {
		os.Remove(tmp.Name())
	}
}

// Discard kills a prestarted child that no run took.
func (p *Prestarted) Discard() {
	if p == nil || p.run == nil {
		return
	}
	p.run.discardEarly()
	p.run = nil
}
