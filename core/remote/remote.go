// Package remote is the link between crun and crun-plugins, its plugin
// host. crun itself does not link the RPC machinery (gRPC, protobuf,
// go-plugin): its package initialisation alone would cost every run
// milliseconds, and a run whose plan is cached needs no plugin at all.
// When crun needs plugins, it starts crun-plugins, which launches them
// (the built-ins in-process, third-party plugins as go-plugin processes)
// and relays crun's calls.
//
// The protocol is JSON, one message per line, over the host's stdin and
// stdout. crun sends requests with an id; the host answers each with the
// same id, in any order (calls run concurrently). The host stops every
// plugin and exits when its stdin closes.
//
//	crun                                       crun-plugins
//	  |-- {"id":1,"op":"launch","sources":..} -->|  starts the plugins
//	  |<------------- {"id":1,"group":1} --------|
//	  |-- {"id":2,"op":"describe","plugin":..} ->|
//	  |-- {"id":3,"op":"contribute",...} ------->|
//	  |<------------- {"id":3,"contribution":..} |
//	  |<------------- {"id":2,"description":..}  |
//	  |-- {"id":4,"op":"hook",...} ------------->|  live hooks, while the
//	  |<------------- {"id":4} ------------------|  container runs
//	  |-- {"id":5,"op":"stop","group":1} ------->|  stops those plugins
//	  |-- EOF ---------------------------------->|  stops all, exits
package remote

import (
	"github.com/crun-project/crun/core"
	"github.com/crun-project/crun/sdk/spec"
)

// Operations.
const (
	OpLaunch     = "launch"
	OpDescribe   = "describe"
	OpContribute = "contribute"
	OpHook       = "hook"
	OpStop       = "stop"
)

// Request is a message from crun to its plugin host.
type Request struct {
	ID int    `json:"id"`
	Op string `json:"op"`

	// launch
	Sources []core.Source `json:"sources,omitempty"`
	Pins    core.Pins     `json:"pins,omitempty"`
	// stop
	Group int `json:"group,omitempty"`
	// describe, contribute, hook
	Plugin     string                  `json:"plugin,omitempty"`
	Contribute *spec.ContributeRequest `json:"contribute,omitempty"`
	Hook       *spec.HookRequest       `json:"hook,omitempty"`
	// TimeoutMs bounds the call on the host's side too.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
}

// Response answers the request with the same ID.
type Response struct {
	ID    int    `json:"id"`
	Error string `json:"error,omitempty"`

	Group        int                `json:"group,omitempty"`
	Description  *spec.Description  `json:"description,omitempty"`
	Contribution *spec.Contribution `json:"contribution,omitempty"`
}
