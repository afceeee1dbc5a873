// Command frozen-v1 is a crun plugin frozen at plugin protocol version 1,
// the way a third party built it: its own copy of the generated gRPC code
// (pb/, copied when protocol 1 was current) and its answers as literal
// JSON, not through crun's sdk, which moves on. If a change to crun breaks
// plugins built for protocol 1 without bumping the version, the test that
// runs this plugin fails. DO NOT UPDATE this file or pb/ to follow the
// sdk: that would defeat it. A new protocol version gets a new frozen
// plugin beside this one.
package main

import (
	"context"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/crun-project/crun/cmd/crun/testdata/frozen-v1/pb"
)

// The handshake of protocol 1, as literal values.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CRUN_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "a8d3b0e6c1f94e2a9d7b5c3f1e0a2b4c",
}

const description = `{"name":"frozen","version":"1.0.0","summary":"a plugin frozen at protocol 1",
"options":[{"name":"path","type":"string","default":"/mnt/frozen","help":"where to mount a tmpfs"}],
"after":["mnt"]}`

// contribution mounts a tmpfs and sets an environment variable; the
// option's value is spliced in the literal JSON.
func contribution(path string) string {
	return `{"steps":[{"phase":"mount","mount":{"source":"frozen","target":"` + path +
		`","fstype":"tmpfs","create_target":true},"why":"frozen v1 plugin"}],"env":["FROZEN_V1=yes"]}`
}

type server struct {
	pb.UnimplementedPlannerServer
}

func (server) Plugins(context.Context, *pb.PluginsRequest) (*pb.PluginsResponse, error) {
	return &pb.PluginsResponse{Names: []string{"frozen"}}, nil
}

func (server) Describe(context.Context, *pb.DescribeRequest) (*pb.Payload, error) {
	return &pb.Payload{Json: []byte(description)}, nil
}

func (server) Contribute(_ context.Context, req *pb.CallRequest) (*pb.Payload, error) {
	// The request, protocol 1: {"options":{"path":...},"plugins":[...],"container_id":...}
	path := "/mnt/frozen"
	if p := extractPath(string(req.Json)); p != "" {
		path = p
	}
	return &pb.Payload{Json: []byte(contribution(path))}, nil
}

// extractPath finds "path":"VALUE" in the request without decoding it
// into types that could change.
func extractPath(js string) string {
	_, rest, ok := strings.Cut(js, `"path":"`)
	if !ok {
		return ""
	}
	path, _, _ := strings.Cut(rest, `"`)
	return path
}

type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPlannerServer(s, server{})
	return nil
}

func (grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: map[int]plugin.PluginSet{1: {"crun-planner": grpcPlugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
