package sdk

import (
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/crun-project/crun/sdk/internal/pb"
)

// ServerPlugin returns the go-plugin plugin that serves the given plugins,
// for hosts that serve crun plugins in-process (sdk/sdktest does, to test
// a plugin over real gRPC without building a binary).
func ServerPlugin(plugins ...Plugin) (plugin.Plugin, error) {
	served, err := byName(plugins)
	if err != nil {
		return nil, err
	}
	return &grpcPlugin{served: served}, nil
}

// RegisterServer registers the service that serves the given plugins on a
// gRPC server, for hosts that serve crun plugins without go-plugin (crun's
// plugin host serves its built-ins so, in-process).
func RegisterServer(s *grpc.Server, plugins ...Plugin) error {
	served, err := byName(plugins)
	if err != nil {
		return err
	}
	pb.RegisterPlannerServer(s, &server{served: served})
	return nil
}

// NewRemote returns the client of the plugins served on conn.
func NewRemote(conn *grpc.ClientConn) *Remote {
	return &Remote{client: pb.NewPlannerClient(conn)}
}
