package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/crun-project/crun/sdk/internal/pb"
	"github.com/crun-project/crun/sdk/spec"
)

// DispenseName is the single go-plugin plugin name every crun plugin
// process serves; the plugins it holds are told apart in each request.
const DispenseName = "crun-planner"

// Handshake is the go-plugin handshake of crun plugins. The magic cookie
// only keeps a plugin binary from being run by hand by mistake; it is not
// a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  spec.ProtocolVersion,
	MagicCookieKey:   "CRUN_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "a8d3b0e6c1f94e2a9d7b5c3f1e0a2b4c",
}

// ClientPlugins is the plugin set crun uses as a go-plugin client,
// keyed by the protocol versions it speaks.
func ClientPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		spec.ProtocolVersion: {DispenseName: &grpcPlugin{}},
	}
}

// grpcPlugin adapts a set of Plugins to go-plugin's GRPCPlugin.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	served map[string]Plugin
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPlannerServer(s, &server{served: p.served})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &Remote{client: pb.NewPlannerClient(c)}, nil
}

// server answers the Planner service for the plugins of one process.
type server struct {
	pb.UnimplementedPlannerServer
	served map[string]Plugin
}

func (s *server) lookup(name string) (Plugin, error) {
	p, ok := s.served[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "this process does not serve a plugin named %q", name)
	}
	return p, nil
}

func (s *server) Plugins(context.Context, *pb.PluginsRequest) (*pb.PluginsResponse, error) {
	names := make([]string, 0, len(s.served))
	for n := range s.served {
		names = append(names, n)
	}
	sort.Strings(names)
	return &pb.PluginsResponse{Names: names}, nil
}

func (s *server) Describe(ctx context.Context, req *pb.DescribeRequest) (*pb.Payload, error) {
	p, err := s.lookup(req.Plugin)
	if err != nil {
		return nil, err
	}
	d, err := p.Describe(ctx)
	if err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return payload(d)
}

func (s *server) Contribute(ctx context.Context, req *pb.CallRequest) (*pb.Payload, error) {
	p, err := s.lookup(req.Plugin)
	if err != nil {
		return nil, err
	}
	var in spec.ContributeRequest
	if err := json.Unmarshal(req.Json, &in); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode contribute request: %v", err)
	}
	c, err := p.Contribute(ctx, in)
	if err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return payload(c)
}

func (s *server) Hook(ctx context.Context, req *pb.CallRequest) (*pb.Payload, error) {
	p, err := s.lookup(req.Plugin)
	if err != nil {
		return nil, err
	}
	h, ok := p.(Hooker)
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "plugin %q has no hooks", req.Plugin)
	}
	var in spec.HookRequest
	if err := json.Unmarshal(req.Json, &in); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode hook request: %v", err)
	}
	if err := h.Hook(ctx, in); err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &pb.Payload{}, nil
}

func payload(v any) (*pb.Payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode: %v", err)
	}
	return &pb.Payload{Json: b}, nil
}

// Remote is crun's side of one plugin process: it calls the plugins that
// process serves. Every error it returns is a *PluginError.
type Remote struct {
	client pb.PlannerClient
}

// Plugins lists the names the process serves.
func (r *Remote) Plugins(ctx context.Context) ([]string, error) {
	resp, err := r.client.Plugins(ctx, &pb.PluginsRequest{})
	if err != nil {
		return nil, wrapCall("?", "list", err)
	}
	return resp.Names, nil
}

// Describe asks the named plugin for its description. Fields crun does not
// know are ignored: a description only informs.
func (r *Remote) Describe(ctx context.Context, name string) (spec.Description, error) {
	var d spec.Description
	resp, err := r.client.Describe(ctx, &pb.DescribeRequest{Plugin: name})
	if err != nil {
		return d, wrapCall(name, "describe", err)
	}
	if err := json.Unmarshal(resp.Json, &d); err != nil {
		return d, &PluginError{Plugin: name, Op: "describe", Err: fmt.Errorf("unreadable answer: %v", err)}
	}
	return d, nil
}

// Contribute asks the named plugin for its part of the plan. Unlike a
// description, a contribution is decoded strictly: a field crun does not
// know could be an isolation step it would silently skip, so it fails the
// run instead (fail closed).
func (r *Remote) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	var c spec.Contribution
	in, err := json.Marshal(req)
	if err != nil {
		return c, &PluginError{Plugin: name, Op: "contribute", Err: err}
	}
	resp, err := r.client.Contribute(ctx, &pb.CallRequest{Plugin: name, Json: in})
	if err != nil {
		return c, wrapCall(name, "contribute", err)
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Json))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, &PluginError{Plugin: name, Op: "contribute",
			Err: fmt.Errorf("answer crun cannot read (%v): the plugin may need a newer crun", err)}
	}
	return c, nil
}

// Hook runs the named plugin's live hook.
func (r *Remote) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	in, err := json.Marshal(req)
	if err != nil {
		return &PluginError{Plugin: name, Op: "hook", Err: err}
	}
	_, err = r.client.Hook(ctx, &pb.CallRequest{Plugin: name, Json: in})
	return wrapCall(name, "hook "+string(req.Point), err)
}
