package plan

import (
	"reflect"
	"testing"
)

// FuzzUnmarshal: no input makes the wire decoder panic or allocate
// without bound, and whatever it accepts encodes back to a plan that
// decodes the same.
func FuzzUnmarshal(f *testing.F) {
	full, err := Marshal(everything(&testing.T{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add([]byte(wireMagic))
	f.Add([]byte("crun-plan-wire\x01"))
	small, _ := Marshal(&Plan{FormatVersion: FormatVersion, Command: []string{"true"}})
	f.Add(small)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b, nil)
		if err != nil {
			return
		}
		again, err := Marshal(p)
		if err != nil {
			return // a decoded step with no action: Marshal refuses it, as Validate would
		}
		q, err := Unmarshal(again, nil)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("a decoded plan does not survive a round trip: %v", err)
		}
	})
}
