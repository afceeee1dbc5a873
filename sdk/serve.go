package sdk

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"golang.org/x/sys/unix"

	"github.com/crun-project/crun/sdk/internal/wire"
)

// Serve serves the given plugins over crun's plugin protocol and never
// returns. It is all a plugin's main needs:
//
//	func main() { sdk.Serve(&myPlugin{}) }
//
// stdout belongs to the go-plugin handshake: log to stderr (Logger), which
// crun forwards to its own log.
func Serve(plugins ...Plugin) {
	served, err := wire.ServerPlugins(plugins)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crun plugin: %v\n", err)
		os.Exit(1)
	}
	// A plugin never reads the terminal: that belongs to the container.
	// go-plugin hands its children the host's stdin, so let go of it here
	// too, for plugins started by another host.
	if null, err := os.Open(os.DevNull); err == nil {
		_ = unix.Dup2(int(null.Fd()), 0)
		null.Close()
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake(),
		VersionedPlugins: served,
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           Logger(),
	})
	os.Exit(0)
}

// logOutput is the process's stderr as it was before Serve: go-plugin's
// Serve swaps the os.Stderr variable for a pipe of its stdio stream,
// which crun does not show, so a logger made inside Contribute on
// os.Stderr would be lost. Log lines belong on the real fd 2, which crun
// parses.
var logOutput = os.Stderr

// Logger returns the logger plugins should use: JSON on stderr, which the
// go-plugin client in crun parses and re-levels, from the level crun
// shows (its --log-level; info when it does not say). It may be called
// anywhere, before Serve or inside Contribute.
func Logger() hclog.Logger {
	level := hclog.LevelFromString(os.Getenv(wire.LogLevelEnv))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      level,
		Output:     logOutput,
		JSONFormat: true,
	})
}
