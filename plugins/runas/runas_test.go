package runas

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/crun-project/crun/sdk/spec"
)

func TestContribute(t *testing.T) {
	for _, c := range []struct {
		user, groups string
		want         *spec.SetUser
		err          string
	}{
		{"1000", "", &spec.SetUser{UID: 1000}, ""},
		{"1000:100", "5,6\n7", &spec.SetUser{UID: 1000, GID: 100, Groups: []uint32{5, 6, 7}}, ""},
		{"alice", "", nil, `option user: "alice": give a number`},
		{"1000:staff", "", nil, `"staff": give a number`},
		{"-1", "", nil, `"-1" is not an id`},
		{"4294967295", "", nil, "is not an id"},
		{"0", "x", nil, `option groups: "x": give a number`},
	} {
		got, err := Plugin{}.Contribute(context.Background(), spec.ContributeRequest{Options: map[string]string{"user": c.user, "groups": c.groups}})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q %q: %v, want %q", c.user, c.groups, err, c.err)
			}
			continue
		}
		if err != nil || len(got.Steps) != 1 || !reflect.DeepEqual(got.Steps[0].SetUser, c.want) || got.Steps[0].Phase != spec.PhaseRestrict {
			t.Errorf("%q %q: %+v, %v", c.user, c.groups, got.Steps, err)
		}
	}
}
