package wire

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/crun-project/crun/sdk/internal/pb"
	"github.com/crun-project/crun/sdk/spec"
)

// ServeInProcess serves plugins from this process over real gRPC,
// through an in-memory connection, and returns their client and the
// function that stops both: the same service, encoding and strict
// decoding as a plugin process, without a process to start. crun serves
// its built-ins so (an exec of a binary linking gRPC costs milliseconds),
// and sdktest the plugins under test.
func ServeInProcess[P Plugin](plugins []P) (*Client, func(), error) {
	served, err := byName(plugins)
	if err != nil {
		return nil, nil, err
	}
	listener := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	pb.RegisterPlannerServer(gs, &server{served: served, protocol: spec.ProtocolVersion})
	go gs.Serve(listener)
	conn, err := grpc.Dial("bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return listener.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		gs.Stop()
		return nil, nil, err
	}
	stop := func() {
		conn.Close()
		gs.Stop()
	}
	return NewClient(conn), stop, nil
}
