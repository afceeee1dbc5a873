package wire

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PluginError is a failure of one plugin: its answer was an error, it
// broke the contract, or its process could not be reached. Op is the
// method that failed (describe, contribute, hook).
type PluginError struct {
	Plugin string
	Op     string
	Err    error
	// Transport is true when the plugin process could not be reached
	// (it crashed, or was never there), rather than answering an error.
	Transport bool
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("plugin %q: %s: %v", e.Plugin, e.Op, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

// wrapCall turns the error of an RPC into a PluginError, telling a
// plugin's own error apart from a broken connection.
func wrapCall(plugin, op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &PluginError{Plugin: plugin, Op: op, Err: err}
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return &PluginError{Plugin: plugin, Op: op, Transport: true,
			Err: fmt.Errorf("no answer in time (the plugin hangs?); --plugin-timeout sets the limit")}
	case codes.Unavailable, codes.Canceled:
		return &PluginError{Plugin: plugin, Op: op, Transport: true,
			Err: fmt.Errorf("plugin process not reachable (crashed or hung?): %s", st.Message())}
	case codes.Internal:
		// A panic in the plugin ends its process; gRPC reports what it saw.
		return &PluginError{Plugin: plugin, Op: op, Transport: true, Err: errors.New(st.Message())}
	default:
		return &PluginError{Plugin: plugin, Op: op, Err: errors.New(st.Message())}
	}
}
