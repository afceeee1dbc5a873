package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// checkPluginFile refuses a plugin executable that someone other than
// root or the invoking user could have replaced: crun runs plugins with
// its own privileges, usually root's. The file and its directory must
// belong to root or the user and be writable by nobody else (a sticky
// directory such as /tmp protects the file from others).
func checkPluginFile(name, path string) error {
	refuse := func(why, fix string) error {
		return fmt.Errorf("plugin %q at %s refused: %s; crun runs plugins with its own privileges: %s", name, path, why, fix)
	}
	// The file found on the plugin path, and what it leads to if it is a
	// symlink, and the directories holding both: anyone who can replace
	// any of them chooses what crun runs.
	link, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", name, err)
	}
	if link.Mode()&os.ModeSymlink != 0 {
		if err := trusted(link, false, true); err != "" {
			return refuse("the symlink "+err, "replace it with a link or file owned by root")
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", name, err)
	}
	if err := trusted(fi, false, false); err != "" {
		return refuse("the file "+err, "chown root and chmod go-w it")
	}
	dirs := []string{filepath.Dir(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, dir := range dirs {
		di, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("plugin %q: %w", name, err)
		}
		if err := trusted(di, true, false); err != "" {
			return refuse("its directory "+dir+" "+err, "move it to a directory only root (or you) can write")
		}
	}
	return nil
}

// trusted says what is wrong with a file's owner or mode, or "". A
// symlink's own mode means nothing; only its owner counts. A sticky
// directory keeps others from replacing what is not theirs.
func trusted(fi os.FileInfo, isDir, isLink bool) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "has no owner information"
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Sprintf("is owned by uid %d, neither root nor you", st.Uid)
	}
	if !isLink && fi.Mode().Perm()&0o022 != 0 && !(isDir && fi.Mode()&os.ModeSticky != 0) {
		return fmt.Sprintf("is writable by group or others (mode %04o)", fi.Mode().Perm())
	}
	return ""
}

// Pins maps plugin names to the sha256 their executable must have.
type Pins map[string]string

// pinsFile is the JSON form of a plugins config file:
//
//	{"sha256": {"ipc": "9f86d08..."}}
type pinsFile struct {
	SHA256 map[string]string `json:"sha256"`
}

// LoadPins reads a plugins config file; a missing file is no pins.
func LoadPins(path string) (Pins, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Pins{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f pinsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("plugins config %s: %w", path, err)
	}
	pins := Pins{}
	for name, sum := range f.SHA256 {
		if err := pins.Add(name, sum); err != nil {
			return nil, fmt.Errorf("plugins config %s: %w", path, err)
		}
	}
	return pins, nil
}

// Add pins a plugin to a sha256 given in hex.
func (p Pins) Add(name, sum string) error {
	sum = strings.ToLower(strings.TrimPrefix(sum, "sha256:"))
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("pin for %q: %q is not a sha256 in hex", name, sum)
	}
	p[name] = sum
	return nil
}
