// Package user is the built-in user plugin: the container gets a user
// namespace of its own, whose root is an unprivileged user of the host.
//
// Without it, root in the container is root on the host: whatever
// escapes the other namespaces (a mount, a device, a file crun's caller
// forgot to close) escapes with root's rights, and every capability the
// container keeps counts on the host. In a user namespace a capability
// counts only for what the namespace owns (its mounts, its hostname),
// and files outside it are reached as the unprivileged host user.
//
// Which host ids the container's map to (-o user.map overrides):
//   - crun run by root: the first range /etc/subuid and /etc/subgid give
//     the user "crun" (at most 65536 ids from it: `useradd --system
//     --add-subids-for-system crun`, or `usermod --add-subuids`), or
//     else DefaultHostID (0x70000000) and the 65535 after it: above what
//     useradd hands out and above the ranges systemd gives its
//     containers. Every container shares that range unless mapped
//     otherwise.
//   - crun run by an ordinary user: its own uid and gid become 0; the
//     ranges /etc/subuid and /etc/subgid give it, when it has them and
//     newuidmap and newgidmap are installed (the uidmap package), become
//     1 and up. With only its own ids, setgroups is denied in the
//     namespace (the kernel demands it) and the user keeps its
//     supplementary groups.
//
// Steps: an id map at after-clone, while the child waits in its new
// namespace; then, first in the prepare phase (after the cgroup
// plugin's, which joins a cgroup v1 as the host's root), the child
// becomes the namespace's root: without a mapped user it could create
// no file.
//
// The rootfs: files owned by host ids outside the map show up as nobody
// (65534) in the container, which may read and run them but not change
// them. `crun rootfs create` run by an ordinary user gives its files to
// that user, the container's root; run by root, chown the rootfs to the
// mapped range to give it to the container.
package user

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

const (
	// SubIDUser is the user whose /etc/subuid and /etc/subgid ranges
	// crun run by root maps the container's ids to.
	SubIDUser = "crun"
	// DefaultHostID is the first host id of the container's range when
	// root runs crun and SubIDUser has none.
	DefaultHostID = 0x70000000
	// MaxIDs is how many ids a default map holds at most (the 16-bit uid
	// space images are made for).
	MaxIDs = 65536
)

// Plugin is the user plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "user",
		Version: Version,
		Summary: "a user namespace: the container's root is an unprivileged user of the host",
		// A cgroup v1 is joined from inside the child by the host's
		// root, before it becomes the namespace's.
		After: []string{"cgroup"},
		Options: []spec.Option{
			{Name: "map", Type: spec.TypeString,
				Help: "the uid and gid map, CONTAINER:HOST:COUNT[,...] (default: as root, /etc/subuid's range for the user crun, " +
					"else 1879048192:65536; as a user, your uid and the ranges /etc/subuid gives you)", Public: true},
			{Name: "gidmap", Type: spec.TypeString, Help: "the gid map, when it differs from user.map", Public: true},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	h := host{euid: uint32(os.Geteuid()), egid: uint32(os.Getegid())}
	if u, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil {
		h.name = u.Username
	}
	m, notes, err := h.idMap(req.Options["map"], req.Options["gidmap"])
	if err != nil {
		return spec.Contribution{}, err
	}
	keep := m.DenySetgroups
	groups := "no supplementary groups"
	if keep {
		groups = "the caller's supplementary groups (setgroups is denied)"
	}
	return spec.Contribution{
		Namespaces: []spec.Namespace{spec.NamespaceUser},
		HostSteps: []spec.HostStep{{Point: spec.HookAfterClone, IDMap: m,
			Why: "the container's ids are host ids of an unprivileged range: its root is nobody special on the host"}},
		Steps: []spec.Step{{Phase: spec.PhasePrepare, Requires: []spec.Namespace{spec.NamespaceUser},
			SetUser: &spec.SetUser{UID: 0, GID: 0, KeepGroups: keep},
			Why:     "become the user namespace's root (uid and gid 0, " + groups + "): until then it owns no file"}},
		Warnings:  notes,
		DependsOn: dependsOn(),
	}, nil
}

// dependsOn lists what the plan is made of: the subordinate id files,
// the user database (the caller's name), and where the map helpers may
// be (installing uidmap changes the plan).
func dependsOn() []string {
	paths := []string{subUIDFile, subGIDFile, "/etc/passwd"}
	for _, d := range spec.IDMapHelperDirs() {
		paths = append(paths, d+"/newuidmap", d+"/newgidmap")
	}
	return paths
}

// The subordinate id files (variables for the tests).
var (
	subUIDFile = "/etc/subuid"
	subGIDFile = "/etc/subgid"
)

// host is who runs crun.
type host struct {
	euid, egid uint32
	name       string
}

// idMap decides the maps: the user's, or the defaults. notes are
// warnings for the user.
func (h host) idMap(uidOpt, gidOpt string) (*spec.IDMap, []string, error) {
	if uidOpt == "" && gidOpt != "" {
		return nil, nil, fmt.Errorf("gidmap without map: give user.map too (it sets the uids)")
	}
	if uidOpt != "" {
		uids, err := spec.ParseIDRanges(uidOpt)
		if err != nil {
			return nil, nil, fmt.Errorf("option map: %w", err)
		}
		gids := uids
		if gidOpt != "" {
			if gids, err = spec.ParseIDRanges(gidOpt); err != nil {
				return nil, nil, fmt.Errorf("option gidmap: %w", err)
			}
		}
		m := &spec.IDMap{UIDs: uids, GIDs: gids}
		if h.euid != 0 {
			if err := h.checkGranted(m); err != nil {
				return nil, nil, err
			}
		}
		return m, nil, nil
	}
	if h.euid == 0 {
		return h.rootMap(), nil, nil
	}
	return h.userMap()
}

// rootMap is the default when root runs crun.
func (h host) rootMap() *spec.IDMap {
	uids, gids := subIDs(subUIDFile, SubIDUser), subIDs(subGIDFile, SubIDUser)
	if len(uids) == 0 || len(gids) == 0 {
		r := []spec.IDRange{{Container: 0, Host: DefaultHostID, Size: MaxIDs}}
		return &spec.IDMap{UIDs: r, GIDs: r}
	}
	first := func(r spec.IDRange) []spec.IDRange {
		return []spec.IDRange{{Container: 0, Host: r.Host, Size: min(r.Size, MaxIDs)}}
	}
	return &spec.IDMap{UIDs: first(uids[0]), GIDs: first(gids[0])}
}

// userMap is the default when an ordinary user runs crun.
func (h host) userMap() (*spec.IDMap, []string, error) {
	self := &spec.IDMap{UIDs: []spec.IDRange{{Container: 0, Host: h.euid, Size: 1}},
		GIDs: []spec.IDRange{{Container: 0, Host: h.egid, Size: 1}}, DenySetgroups: true}
	subUIDs, subGIDs := subIDs(subUIDFile, h.owners()...), subIDs(subGIDFile, h.owners()...)
	if len(subUIDs) == 0 || len(subGIDs) == 0 {
		return self, nil, nil
	}
	for _, helper := range []string{"newuidmap", "newgidmap"} {
		if spec.IDMapHelper(helper) == "" {
			return self, []string{fmt.Sprintf("only your own uid and gid are mapped (as 0): %s, which maps the ranges "+
				"/etc/subuid and /etc/subgid give you, is not installed (apt-get install uidmap)", helper)}, nil
		}
	}
	// Root is the user; the first subordinate range follows it.
	one := func(own uint32, sub spec.IDRange) []spec.IDRange {
		return []spec.IDRange{{Container: 0, Host: own, Size: 1}, {Container: 1, Host: sub.Host, Size: min(sub.Size, MaxIDs-1)}}
	}
	return &spec.IDMap{UIDs: one(h.euid, subUIDs[0]), GIDs: one(h.egid, subGIDs[0])}, nil, nil
}

// checkGranted refuses, for an ordinary user, a map the kernel or
// newuidmap would refuse: host ids that are neither the user's own nor
// in its /etc/subuid (/etc/subgid) ranges. Mapping only its own ids
// needs setgroups denied, which it then is.
func (h host) checkGranted(m *spec.IDMap) error {
	if len(m.UIDs) == 1 && m.UIDs[0].Size == 1 && m.UIDs[0].Host == h.euid &&
		len(m.GIDs) == 1 && m.GIDs[0].Size == 1 && m.GIDs[0].Host == h.egid {
		m.DenySetgroups = true
		return nil
	}
	for _, c := range []struct {
		option, file string
		own          uint32
		ranges       []spec.IDRange
	}{{"map", subUIDFile, h.euid, m.UIDs}, {"gidmap", subGIDFile, h.egid, m.GIDs}} {
		granted := subIDs(c.file, h.owners()...)
		for _, r := range c.ranges {
			if r.Size == 1 && r.Host == c.own || within(r, granted) {
				continue
			}
			if _, err := os.Stat(c.file); err != nil {
				return fmt.Errorf("option %s: host ids %d-%d are not yours to map: %s does not exist "+
					"(as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s), "+
					"or map only your own ids: -o user.map=0:%d:1 -o user.gidmap=0:%d:1",
					c.option, r.Host, uint64(r.Host)+uint64(r.Size)-1, c.file, h.nameOrID(), h.euid, h.egid)
			}
			return fmt.Errorf("option %s: host ids %d-%d are not yours to map: %s gives %s only %s (start:count)",
				c.option, r.Host, uint64(r.Host)+uint64(r.Size)-1, c.file, h.nameOrID(), hostRanges(granted))
		}
	}
	return nil
}

func (h host) nameOrID() string {
	if h.name != "" {
		return h.name
	}
	return strconv.FormatUint(uint64(h.euid), 10)
}

// within tells whether r's host ids all lie in one of the ranges.
func within(r spec.IDRange, ranges []spec.IDRange) bool {
	for _, g := range ranges {
		if r.Host >= g.Host && uint64(r.Host)+uint64(r.Size) <= uint64(g.Host)+uint64(g.Size) {
			return true
		}
	}
	return false
}

func hostRanges(ranges []spec.IDRange) string {
	if len(ranges) == 0 {
		return "nothing"
	}
	var s []string
	for _, r := range ranges {
		s = append(s, fmt.Sprintf("%d:%d", r.Host, r.Size))
	}
	return strings.Join(s, ", ")
}

// subIDs reads the host ranges (Host and Size) a file in /etc/subuid's
// format gives one of owners (NAME:START:COUNT lines, NAME a user name
// or a uid), in the file's order. A missing file gives none.
func subIDs(file string, owners ...string) []spec.IDRange {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ranges []spec.IDRange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) != 3 || fields[0] == "" || !slices.Contains(owners, fields[0]) {
			continue
		}
		start, err1 := strconv.ParseUint(fields[1], 10, 32)
		count, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 || start+count > 1<<32-1 {
			continue
		}
		ranges = append(ranges, spec.IDRange{Host: uint32(start), Size: uint32(count)})
	}
	return ranges
}

// owners are the names /etc/subuid may give the caller's ranges under.
func (h host) owners() []string {
	owners := []string{strconv.FormatUint(uint64(h.euid), 10)}
	if h.name != "" {
		owners = append(owners, h.name)
	}
	return owners
}
