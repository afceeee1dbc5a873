// Package sdktest helps plugin authors test a crun plugin without building
// a binary or running crun: Serve runs plugins in-process behind real gRPC,
// and Conformance checks what every plugin must get right.
package sdktest

import (
	"context"
	"testing"

	"github.com/crun-project/crun/sdk"
	"github.com/crun-project/crun/sdk/internal/wire"
	"github.com/crun-project/crun/sdk/spec"
)

// Serve serves the plugins in-process, over gRPC exactly as crun talks
// to them (the same service, encoding and strict decoding; crun's plugin
// host serves its built-ins the same way), and returns a client that
// calls them as crun would. Everything is torn down when the test ends.
func Serve(t testing.TB, plugins ...sdk.Plugin) *Client {
	t.Helper()
	c, stop, err := wire.ServeInProcess(plugins)
	if err != nil {
		t.Fatalf("sdktest.Serve: %v", err)
	}
	t.Cleanup(stop)
	return &Client{c: c}
}

// Client calls the plugins Serve serves, as crun calls them. Every error
// its methods return is a *PluginError.
type Client struct {
	c *wire.Client
}

// PluginError is how a call to a plugin fails, in crun as in Client: a
// failure of the plugin named Plugin, in its method Op ("describe",
// "contribute", "hook ..."), with the cause in Err (the plugin's own
// error message, or what it got wrong). Transport is true when the
// plugin process could not be reached (it crashed or hung) rather than
// answering an error. Its message reads
//
//	plugin "NAME": OP: ERR
type PluginError = wire.PluginError

// Plugins lists the names of the plugins served.
func (c *Client) Plugins(ctx context.Context) ([]string, error) {
	return c.c.Plugins(ctx)
}

// Describe asks the named plugin for its description.
func (c *Client) Describe(ctx context.Context, name string) (spec.Description, error) {
	return c.c.Describe(ctx, name)
}

// Contribute asks the named plugin for its part of the plan. The answer
// is decoded strictly, as crun decodes it: a field crun does not know
// fails the call.
func (c *Client) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	return c.c.Contribute(ctx, name, req)
}

// Hook runs the named plugin's live hook.
func (c *Client) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	return c.c.Hook(ctx, name, req)
}

// Context returns a context for calls in tests.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
