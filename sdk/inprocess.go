package sdk

import (
	"github.com/hashicorp/go-plugin"
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
