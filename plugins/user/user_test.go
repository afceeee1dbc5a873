package user

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

// withSubIDs points the plugin at subordinate id files with content
// ("" for a missing file).
func withSubIDs(t *testing.T, subuid, subgid string) {
	dir := t.TempDir()
	oldU, oldG := subUIDFile, subGIDFile
	t.Cleanup(func() { subUIDFile, subGIDFile = oldU, oldG })
	subUIDFile, subGIDFile = filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	for path, content := range map[string]string{subUIDFile: subuid, subGIDFile: subgid} {
		if content != "" {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRootMap(t *testing.T) {
	root := host{}
	withSubIDs(t, "", "")
	want := []spec.IDRange{{Container: 0, Host: DefaultHostID, Size: MaxIDs}}
	if m, _, err := root.idMap("", ""); err != nil || !reflect.DeepEqual(m.UIDs, want) || !reflect.DeepEqual(m.GIDs, want) || m.DenySetgroups {
		t.Errorf("no /etc/subuid: %+v, %v", m, err)
	}
	// The user crun's first range, cut to 65536; another user's ignored.
	withSubIDs(t, "alice:100000:65536\ncrun:300000:100000\ncrun:900000:10\n", "crun:400000:65536\n")
	m, _, err := root.idMap("", "")
	if err != nil || !reflect.DeepEqual(m.UIDs, []spec.IDRange{{Container: 0, Host: 300000, Size: 65536}}) || !reflect.DeepEqual(m.GIDs, []spec.IDRange{{Container: 0, Host: 400000, Size: 65536}}) {
		t.Errorf("crun's ranges: %+v, %v", m, err)
	}
	// Root may map anything it asks for.
	if m, _, err := root.idMap("0:5000:10", ""); err != nil || !reflect.DeepEqual(m.GIDs, []spec.IDRange{{Container: 0, Host: 5000, Size: 10}}) {
		t.Errorf("user.map as root: %+v, %v", m, err)
	}
}

func TestUserMap(t *testing.T) {
	alice := host{euid: 1000, egid: 1000, name: "alice"}
	withSubIDs(t, "", "")
	m, _, err := alice.idMap("", "")
	self := []spec.IDRange{{Container: 0, Host: 1000, Size: 1}}
	if err != nil || !reflect.DeepEqual(m.UIDs, self) || !reflect.DeepEqual(m.GIDs, self) || !m.DenySetgroups {
		t.Errorf("no subordinate ids: %+v, %v", m, err)
	}
	// Ranges beyond its own ids need /etc/subuid.
	_, _, err = alice.idMap("0:1000:1,1:100000:10", "")
	if err == nil || !strings.Contains(err.Error(), "option map: host ids 100000-100009 are not yours to map") ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Errorf("no /etc/subuid: %v", err)
	}
	withSubIDs(t, "alice:100000:65536\n1000:500000:5\n", "alice:100000:65536\n")
	if _, _, err := alice.idMap("0:1000:1,1:100000:10,11:500000:5", "0:1000:1,1:100000:10"); err != nil {
		t.Errorf("granted ranges, by name and by uid: %v", err)
	}
	_, _, err = alice.idMap("0:1000:1,1:100000:70000", "")
	if err == nil || !strings.Contains(err.Error(), "gives alice only 100000:65536, 500000:5") {
		t.Errorf("a range past the granted one: %v", err)
	}
}

func TestParseIDRanges(t *testing.T) {
	for in, want := range map[string]string{
		"0:1000:1,1:100000:65535": "",
		"0:1000":                  "want CONTAINER:HOST:SIZE",
		"0:x:1":                   "is not an id",
		"0:1:4294967295":          "is not an id",
		"0:1:0":                   "is empty",
		"0:1:10,5:100:10":         "overlap in the container",
		"0:1:10,20:5:10":          "overlap on the host",
	} {
		_, err := spec.ParseIDRanges(in)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
