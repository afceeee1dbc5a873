// Package sdktest helps plugin authors test a crun plugin without building
// a binary or running crun: Serve runs plugins in-process behind real gRPC,
// and Conformance checks what every plugin must get right.
package sdktest

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/crun-project/crun/sdk"
)

// Serve serves the plugins in-process, over gRPC exactly as crun talks
// to them (the same service, encoding and strict decoding; crun's plugin
// host serves its built-ins the same way), and returns the client crun
// would hold. Everything is torn down when the test ends.
func Serve(t testing.TB, plugins ...sdk.Plugin) *sdk.Remote {
	t.Helper()
	listener := bufconn.Listen(1 << 20)
	server := grpc.NewServer()
	if err := sdk.RegisterServer(server, plugins...); err != nil {
		t.Fatalf("sdktest.Serve: %v", err)
	}
	go server.Serve(listener)
	conn, err := grpc.Dial("bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return listener.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		server.Stop()
		t.Fatalf("sdktest.Serve: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		server.Stop()
	})
	return sdk.NewRemote(conn)
}

// Context returns a context for calls in tests.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
