// Package runas is the built-in runas plugin: the command runs as a user
// other than root (--user UID[:GID], plus supplementary groups).
//
// Without it the command runs as root (the container's: with the user
// plugin, an unprivileged host user; without it, the host's root). As
// another user it holds no capability after the exec (the kernel grants
// them to root only, or through file capabilities, which the nnp plugin
// turns off), whatever the caps plugin keeps in the bounding set.
//
// Ids are numbers, as the kernel takes them: crun does not read the
// container's /etc/passwd. A GID left out is 0, as docker and podman
// make it for a uid their image does not name. In a user namespace the
// ids are the namespace's, and must be mapped (crun refuses the plan
// otherwise, naming the map).
//
// Steps: one set_user step in the restrict phase, after nnp and seccomp
// (the filter is loaded while the init may still) and before caps (which
// decides what the new user keeps).
package runas

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/crun-project/crun/sdk/spec"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Plugin is the runas plugin.
type Plugin struct{}

// Describe implements sdk.Plugin.
func (Plugin) Describe(context.Context) (spec.Description, error) {
	return spec.Description{
		Name:    "runas",
		Version: Version,
		Summary: "run the command as another user: UID[:GID] and supplementary groups (--user)",
		After:   []string{"nnp", "seccomp"},
		Before:  []string{"caps"},
		Options: []spec.Option{
			{Name: "user", Type: spec.TypeString, Default: "0:0", Help: "UID[:GID], numbers (also --user; GID 0 when left out)"},
			{Name: "groups", Type: spec.TypeString, Repeatable: true, Help: "supplementary group ids, comma-separated (also --group-add; none by default)"},
		},
	}, nil
}

// Contribute implements sdk.Plugin.
func (Plugin) Contribute(_ context.Context, req spec.ContributeRequest) (spec.Contribution, error) {
	u, err := parseUser(req.Options["user"])
	if err != nil {
		return spec.Contribution{}, fmt.Errorf("option user: %w", err)
	}
	for _, line := range strings.Split(req.Options["groups"], "\n") {
		for _, g := range strings.Split(line, ",") {
			if g = strings.TrimSpace(g); g == "" {
				continue
			}
			id, err := parseID(g)
			if err != nil {
				return spec.Contribution{}, fmt.Errorf("option groups: %w", err)
			}
			u.Groups = append(u.Groups, id)
		}
	}
	why := fmt.Sprintf("the command runs as uid %d, gid %d", u.UID, u.GID)
	if u.UID != 0 {
		why += ": it holds no capability after the exec"
	}
	return spec.Contribution{Steps: []spec.Step{{Phase: spec.PhaseRestrict, SetUser: &u, Why: why}}}, nil
}

// parseUser reads UID[:GID].
func parseUser(s string) (spec.SetUser, error) {
	uid, gid, hasGID := strings.Cut(s, ":")
	var u spec.SetUser
	var err error
	if u.UID, err = parseID(uid); err != nil {
		return u, err
	}
	if hasGID {
		if u.GID, err = parseID(gid); err != nil {
			return u, err
		}
	}
	return u, nil
}

// parseID reads a numeric id; a name gets an error that says why not.
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		if _, numErr := strconv.ParseInt(s, 10, 64); numErr != nil && s != "" && !strings.ContainsAny(s[:1], "-+0123456789") {
			return 0, fmt.Errorf("%q: give a number: crun does not look names up in the container's /etc/passwd or /etc/group", s)
		}
		return 0, fmt.Errorf("%q is not an id (0 to 4294967294)", s)
	}
	return uint32(n), nil
}
