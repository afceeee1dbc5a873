package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/crun-project/crun/sdk/internal/pb"
	"github.com/crun-project/crun/sdk/spec"
)

// server answers the Planner service for the plugins of one process.
type server struct {
	pb.UnimplementedPlannerServer
	served map[string]Plugin
	// protocol is the version the handshake settled on.
	protocol int
}

// byName indexes the plugins one process serves by the names they give
// themselves, as requests name them.
func byName[P Plugin](plugins []P) (map[string]Plugin, error) {
	if len(plugins) == 0 {
		return nil, fmt.Errorf("Serve: no plugins given")
	}
	served := map[string]Plugin{}
	for _, p := range plugins {
		name, err := nameOf(p)
		if err != nil {
			return nil, err
		}
		if _, dup := served[name]; dup {
			return nil, fmt.Errorf("Serve: two plugins named %q", name)
		}
		served[name] = p
	}
	return served, nil
}

func nameOf(p Plugin) (string, error) {
	d, err := p.Describe(context.Background())
	if err != nil {
		return "", fmt.Errorf("describe: %w", err)
	}
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("plugin %q: invalid description: %w", d.Name, err)
	}
	return d.Name, nil
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
	in.Protocol = s.protocol
	if in.Lists == nil {
		// A crun of protocol 1 joined repeatable values by newlines.
		in.Lists = listsFromOptions(ctx, p, in.Options)
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

// listsFromOptions splits the plugin's repeatable options, which a crun of
// protocol 1 sends joined by newlines, into Lists.
func listsFromOptions(ctx context.Context, p Plugin, options map[string]string) map[string][]string {
	d, err := p.Describe(ctx)
	if err != nil {
		return nil
	}
	var lists map[string][]string
	for _, o := range d.Options {
		if v := options[o.Name]; o.Repeatable && v != "" {
			if lists == nil {
				lists = map[string][]string{}
			}
			lists[o.Name] = strings.Split(v, "\n")
		}
	}
	return lists
}

func payload(v any) (*pb.Payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode: %v", err)
	}
	return &pb.Payload{Json: b}, nil
}
