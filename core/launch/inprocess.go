package launch

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/sdk"
)

// serveInProcess serves the built-in plugins from this process over real
// gRPC, through an in-memory connection: the same service, the same
// encoding and the same strict decoding as a plugin process, without a
// process to start (an exec of a binary linking gRPC costs milliseconds).
func serveInProcess(plugins []sdk.Plugin) (core.Planner, func(), error) {
	listener := bufconn.Listen(1 << 20)
	server := grpc.NewServer()
	if err := sdk.RegisterServer(server, plugins...); err != nil {
		return nil, nil, fmt.Errorf("built-in plugins: %w", err)
	}
	go server.Serve(listener)
	conn, err := grpc.Dial("bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return listener.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		server.Stop()
		return nil, nil, fmt.Errorf("built-in plugins: %w", err)
	}
	stop := func() {
		conn.Close()
		server.Stop()
	}
	return sdk.NewRemote(conn), stop, nil
}
