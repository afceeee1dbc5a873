// Package host is crun's end of the plugin protocol, for crun's plugin
// host (core/launch) alone: plugin authors never import it. What they
// use is sdk, sdk/spec and sdk/sdktest.
//
// The protocol is implemented once, in sdk/internal/wire, for both ends.
// Go lets only packages under sdk/ import that, and crun's host lives in
// core/, so this package is the door: it lists what crun may use of the
// protocol, and nothing a plugin needs.
package host

import (
	"github.com/hashicorp/go-plugin"

	"github.com/crun-project/crun/sdk"
	"github.com/crun-project/crun/sdk/internal/wire"
)

// Client calls the plugins one plugin process serves: Plugins, Describe,
// Contribute (whose answer is decoded strictly: a field crun does not
// know fails the call) and Hook. Every error it returns is a
// *PluginError.
type Client = wire.Client

// PluginError is a failure of one plugin: its answer was an error, it
// broke the contract, or (Transport) its process could not be reached.
// It names the plugin and the method (Op) that failed.
type PluginError = wire.PluginError

// LogLevelEnv is the environment variable crun sets in a plugin process
// to its --log-level.
const LogLevelEnv = wire.LogLevelEnv

// Handshake returns the go-plugin handshake of crun plugins, carrying
// the protocol version this crun speaks.
func Handshake() plugin.HandshakeConfig { return wire.Handshake() }

// ClientPlugins returns the plugin set of a go-plugin client of crun
// plugins, keyed by the protocol versions crun speaks.
func ClientPlugins() map[int]plugin.PluginSet { return wire.ClientPlugins() }

// Dispense returns the client of the plugin process behind a go-plugin
// connection made with Handshake and ClientPlugins.
func Dispense(conn plugin.ClientProtocol) (*Client, error) { return wire.Dispense(conn) }

// ServeInProcess serves plugins from this process over real gRPC,
// through an in-memory connection, and returns their client and the
// function that stops both. crun serves its built-ins so: the same
// service, encoding and strict decoding as a plugin process, without a
// process to start.
func ServeInProcess(plugins []sdk.Plugin) (*Client, func(), error) {
	return wire.ServeInProcess(plugins)
}
