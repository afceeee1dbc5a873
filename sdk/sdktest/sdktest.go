// Package sdktest helps plugin authors test a crun plugin without building
// a binary or running crun: Serve runs plugins in-process behind real gRPC,
// and Conformance checks what every plugin must get right.
package sdktest

import (
	"context"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/crun-project/crun/sdk"
)

// Serve serves the plugins in-process, over gRPC exactly as crun would
// talk to them, and returns the client crun would hold. Everything is torn
// down when the test ends.
func Serve(t testing.TB, plugins ...sdk.Plugin) *sdk.Remote {
	t.Helper()
	sp, err := sdk.ServerPlugin(plugins...)
	if err != nil {
		t.Fatalf("sdktest.Serve: %v", err)
	}
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{sdk.DispenseName: sp})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(sdk.DispenseName)
	if err != nil {
		t.Fatalf("sdktest.Serve: dispense: %v", err)
	}
	return raw.(*sdk.Remote)
}

// Context returns a context for calls in tests.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
