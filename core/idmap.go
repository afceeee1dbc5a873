package core

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/spec"
)

// writeIDMap carries out an IDMap host step for the child pid, which
// waits in its new user namespace (see spec.IDMap).
func writeIDMap(pid int, m *spec.IDMap) error {
	proc := "/proc/" + strconv.Itoa(pid) + "/"
	if m.DenySetgroups {
		if err := writeProcFile(proc+"setgroups", "deny"); err != nil {
			return err
		}
	}
	if os.Geteuid() == 0 || mapsOnlySelf(m) {
		if err := writeProcFile(proc+"uid_map", mapLines(m.UIDs)); err != nil {
			return err
		}
		return writeProcFile(proc+"gid_map", mapLines(m.GIDs))
	}
	// Ranges beyond the user's own ids: the set-user-ID helpers check
	// them against /etc/subuid and /etc/subgid.
	if err := runIDMapHelper("newuidmap", pid, m.UIDs); err != nil {
		return err
	}
	return runIDMapHelper("newgidmap", pid, m.GIDs)
}

// mapsOnlySelf tells whether the map is the one an ordinary user may
// write without help: its own uid and gid, one each, with setgroups
// denied.
func mapsOnlySelf(m *spec.IDMap) bool {
	return m.DenySetgroups && len(m.UIDs) == 1 && len(m.GIDs) == 1 &&
		m.UIDs[0].Size == 1 && m.UIDs[0].Host == uint32(os.Geteuid()) &&
		m.GIDs[0].Size == 1 && m.GIDs[0].Host == uint32(os.Getegid())
}

// mapLines writes ranges as uid_map takes them: all lines in one write.
func mapLines(ranges []spec.IDRange) string {
	var b strings.Builder
	for _, r := range ranges {
		fmt.Fprintf(&b, "%d %d %d\n", r.Container, r.Host, r.Size)
	}
	return b.String()
}

// writeProcFile writes a /proc file of the child in one write.
func writeProcFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %q to %s: %w", strings.TrimSpace(content), path, err)
	}
	return f.Close()
}

// runIDMapHelper runs newuidmap or newgidmap for the child.
func runIDMapHelper(helper string, pid int, ranges []spec.IDRange) error {
	path := spec.IDMapHelper(helper)
	if path == "" {
		return fmt.Errorf("%s is needed to map ids beyond your own (%s): install the uidmap package "+
			"(apt-get install uidmap), or map only your own uid and gid", helper, spec.FormatIDRanges(ranges))
	}
	args := []string{strconv.Itoa(pid)}
	for _, r := range ranges {
		args = append(args, strconv.FormatUint(uint64(r.Container), 10), strconv.FormatUint(uint64(r.Host), 10),
			strconv.FormatUint(uint64(r.Size), 10))
	}
	cmd := exec.Command(path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		msg := strings.TrimSpace(out.String())
		if errors.As(err, &exit) && msg != "" {
			return fmt.Errorf("%s %s: %s (is the range in /etc/sub%sid for you?)", helper, spec.FormatIDRanges(ranges), msg, helper[3:4])
		}
		return fmt.Errorf("%s %s: %w", helper, spec.FormatIDRanges(ranges), err)
	}
	return nil
}
