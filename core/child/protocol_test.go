package child

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"
)

func TestMessagesRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Type: MsgPlan, Plan: []byte("crun-child-plan\x01..."), Go: true, Trace: true, TraceStart: 1234567890123},
		{Type: MsgPlan, Plan: []byte{0, 1, 2}},
		{Type: MsgGo},
		{Type: MsgExec},
		{Type: MsgAck},
		{Type: MsgGo, Trace: true},
		{Type: MsgDone, Step: 3, Elapsed: 12 * time.Microsecond, Mounted: "/proc"},
		{Type: MsgCreate, Step: 2, Paths: []string{"/a", "/b"}},
		{Type: MsgError, Step: 1, Plugin: "p", What: "mount", Err: `bad "quote"`, Hint: "h", ExitCode: 125},
		{Type: `odd"type`},
	} {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatal(err)
		}
		got, err := ReadMessage(&buf)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		if _, err := ReadMessage(&buf); err != io.EOF {
			t.Errorf("after one message: %v, want EOF", err)
		}
	}
}

// TestTypeOnlyMessagesAreJSON: the shortcut writes what encoding/json
// would have read the same way.
func TestTypeOnlyMessagesAreJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMessage(&buf, Message{Type: MsgExec}); err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := json.Unmarshal(buf.Bytes()[4:], &m); err != nil || !reflect.DeepEqual(m, Message{Type: MsgExec}) {
		t.Errorf("%q decodes as %+v, %v", buf.Bytes()[4:], m, err)
	}
}
