package order

import (
	"reflect"
	"strings"
	"testing"
)

func TestSort(t *testing.T) {
	tests := []struct {
		name        string
		enabled     []string
		constraints map[string]Constraints
		want        []string
		wantErr     string
	}{
		{name: "no constraints keep the user's order",
			enabled: []string{"uts", "pid", "mnt"},
			want:    []string{"uts", "pid", "mnt"}},
		{name: "after moves a plugin behind another",
			enabled:     []string{"pid", "uts", "mnt"},
			constraints: map[string]Constraints{"pid": {After: []string{"mnt"}}},
			want:        []string{"uts", "mnt", "pid"}},
		{name: "before moves a plugin ahead",
			enabled:     []string{"uts", "pid", "mnt"},
			constraints: map[string]Constraints{"mnt": {Before: []string{"uts"}}},
			want:        []string{"pid", "mnt", "uts"}},
		{name: "ties after a constraint keep the user's order",
			enabled:     []string{"c", "b", "a", "root"},
			constraints: map[string]Constraints{"c": {After: []string{"root"}}, "b": {After: []string{"root"}}, "a": {After: []string{"root"}}},
			want:        []string{"root", "c", "b", "a"}},
		{name: "constraints on plugins that are not enabled are ignored",
			enabled:     []string{"pid", "uts"},
			constraints: map[string]Constraints{"pid": {After: []string{"mnt"}, Before: []string{"cgroup"}}},
			want:        []string{"pid", "uts"}},
		{name: "a missing requirement names both plugins",
			enabled:     []string{"chroot"},
			constraints: map[string]Constraints{"chroot": {Requires: []string{"mnt"}}},
			wantErr:     `plugin "chroot" requires "mnt": add mnt to --plugins`},
		{name: "a cycle names the plugins in it",
			enabled:     []string{"x", "a", "b", "c"},
			constraints: map[string]Constraints{"a": {After: []string{"c"}}, "b": {After: []string{"a"}}, "c": {After: []string{"b"}}},
			wantErr:     `plugins "a", "b", "c" cannot be ordered: their constraints form a cycle`},
		{name: "a plugin downstream of a cycle is reported but the cycle is printed",
			enabled:     []string{"d", "a", "b"},
			constraints: map[string]Constraints{"d": {After: []string{"a"}}, "a": {After: []string{"b"}}, "b": {After: []string{"a"}}},
			wantErr:     "a before b before a"},
		{name: "a duplicate name is refused",
			enabled: []string{"uts", "uts"},
			wantErr: `plugin "uts" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sort(tt.enabled, tt.constraints)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Sort() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Sort() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Sort() = %v, want %v", got, tt.want)
			}
		})
	}
}
