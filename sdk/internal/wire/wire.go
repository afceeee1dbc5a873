// Package wire is crun's plugin protocol, both ends of it: the go-plugin
// handshake, the gRPC service a plugin process serves, and the client
// crun holds of a plugin process. It is the only code that touches the
// generated sdk/internal/pb.
//
// Nobody imports it directly but sdk's own packages, each showing one
// face of it: sdk (Serve) the plugin's end, sdk/sdktest the test harness
// plugin authors use, and sdk/host crun's end.
package wire

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/crun-project/crun/sdk/internal/pb"
	"github.com/crun-project/crun/sdk/spec"
)

// Plugin is sdk.Plugin, restated: sdk imports this package for Serve,
// so this package cannot import sdk. An sdk.Plugin is a Plugin.
type Plugin interface {
	Describe(ctx context.Context) (spec.Description, error)
	Contribute(ctx context.Context, req spec.ContributeRequest) (spec.Contribution, error)
}

// Hooker is sdk.Hooker, restated for the same reason.
type Hooker interface {
	Hook(ctx context.Context, req spec.HookRequest) error
}

// LogLevelEnv names the environment variable crun sets in a plugin
// process to the level it shows plugin logs from (--log-level): the
// plugin's logger (sdk.Logger) drops what is below it, and writes what
// crun will show.
const LogLevelEnv = "CRUN_PLUGIN_LOG_LEVEL"

// DispenseName is the single go-plugin plugin name every crun plugin
// process serves; the plugins it holds are told apart in each request.
const DispenseName = "crun-planner"

// Handshake returns the go-plugin handshake of crun plugins. The magic
// cookie only keeps a plugin binary from being run by hand by mistake; it
// is not a security measure.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  spec.ProtocolVersion,
		MagicCookieKey:   "CRUN_PLUGIN_MAGIC_COOKIE",
		MagicCookieValue: "a8d3b0e6c1f94e2a9d7b5c3f1e0a2b4c",
	}
}

// ClientPlugins is the plugin set crun uses as a go-plugin client, keyed
// by the protocol versions it speaks: go-plugin settles on the highest
// one the plugin serves too.
func ClientPlugins() map[int]plugin.PluginSet {
	sets := map[int]plugin.PluginSet{}
	for v := spec.OldestProtocolVersion; v <= spec.ProtocolVersion; v++ {
		sets[v] = plugin.PluginSet{DispenseName: &grpcPlugin{protocol: v}}
	}
	return sets
}

// ServerPlugins is the plugin set a plugin process serves as a go-plugin
// server: the given plugins, under every protocol version of this sdk
// (an older crun gets the highest it knows).
func ServerPlugins[P Plugin](plugins []P) (map[int]plugin.PluginSet, error) {
	served, err := byName(plugins)
	if err != nil {
		return nil, err
	}
	sets := map[int]plugin.PluginSet{}
	for v := spec.OldestProtocolVersion; v <= spec.ProtocolVersion; v++ {
		sets[v] = plugin.PluginSet{DispenseName: &grpcPlugin{served: served, protocol: v}}
	}
	return sets, nil
}

// Dispense returns the client of the plugin process behind a go-plugin
// connection made with ClientPlugins.
func Dispense(conn plugin.ClientProtocol) (*Client, error) {
	raw, err := conn.Dispense(DispenseName)
	if err != nil {
		return nil, err
	}
	c, ok := raw.(*Client)
	if !ok {
		return nil, fmt.Errorf("unexpected client type %T", raw)
	}
	return c, nil
}

// grpcPlugin adapts a set of Plugins to go-plugin's GRPCPlugin: the
// server end when served is set, the client end otherwise.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	served   map[string]Plugin
	protocol int
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPlannerServer(s, &server{served: p.served, protocol: p.protocol})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return NewClient(c), nil
}
