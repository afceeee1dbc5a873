package spec

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// String writes the range as users give it: CONTAINER:HOST:SIZE.
func (r IDRange) String() string { return fmt.Sprintf("%d:%d:%d", r.Container, r.Host, r.Size) }

// FormatIDRanges writes ranges as ParseIDRanges reads them.
func FormatIDRanges(ranges []IDRange) string {
	s := make([]string, len(ranges))
	for i, r := range ranges {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// ParseIDRanges reads CONTAINER:HOST:SIZE[,CONTAINER:HOST:SIZE...], the
// form of the user plugin's user.map (the numbers of uid_map's lines,
// in its order), and checks the ranges as the kernel will.
func ParseIDRanges(s string) ([]IDRange, error) {
	var ranges []IDRange
	for _, part := range strings.Split(s, ",") {
		fields := strings.Split(strings.TrimSpace(part), ":")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%q: want CONTAINER:HOST:SIZE, e.g. 0:100000:65536", part)
		}
		var n [3]uint32
		for i, f := range fields {
			v, err := strconv.ParseUint(f, 10, 32)
			if err != nil || v == 1<<32-1 {
				return nil, fmt.Errorf("%q: %q is not an id (0 to 4294967294)", part, f)
			}
			n[i] = uint32(v)
		}
		ranges = append(ranges, IDRange{Container: n[0], Host: n[1], Size: n[2]})
	}
	if err := checkIDRanges("id", ranges); err != nil {
		return nil, err
	}
	return ranges, nil
}

// IDMapHelperDirs lists where IDMapHelper looks for newuidmap and
// newgidmap: where distributions install them. Not $PATH: plugins run
// without the caller's environment, and the plugin that plans a map and
// crun that writes it must find the same helper.
func IDMapHelperDirs() []string { return slices.Clone(idMapHelperDirs) }

var idMapHelperDirs = []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"}

// IDMapHelper returns the path of newuidmap or newgidmap (name), or ""
// when it is not installed. Both come with the uidmap package (shadow).
func IDMapHelper(name string) string {
	for _, d := range idMapHelperDirs {
		p := d + "/" + name
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
