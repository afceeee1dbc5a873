package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"

	"github.com/crun-project/crun/sdk/internal/pb"
	"github.com/crun-project/crun/sdk/spec"
)

// Client is crun's side of one plugin process: it calls the plugins that
// process serves. Every error it returns is a *PluginError.
type Client struct {
	client pb.PlannerClient
}

// NewClient returns the client of the plugins served on conn.
func NewClient(conn *grpc.ClientConn) *Client {
	return &Client{client: pb.NewPlannerClient(conn)}
}

// Plugins lists the names the process serves.
func (c *Client) Plugins(ctx context.Context) ([]string, error) {
	resp, err := c.client.Plugins(ctx, &pb.PluginsRequest{})
	if err != nil {
		return nil, wrapCall("?", "list", err)
	}
	return resp.Names, nil
}

// Describe asks the named plugin for its description. Fields crun does not
// know are ignored: a description only informs.
func (c *Client) Describe(ctx context.Context, name string) (spec.Description, error) {
	var d spec.Description
	resp, err := c.client.Describe(ctx, &pb.DescribeRequest{Plugin: name})
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
func (c *Client) Contribute(ctx context.Context, name string, req spec.ContributeRequest) (spec.Contribution, error) {
	var out spec.Contribution
	in, err := json.Marshal(req)
	if err != nil {
		return out, &PluginError{Plugin: name, Op: "contribute", Err: err}
	}
	resp, err := c.client.Contribute(ctx, &pb.CallRequest{Plugin: name, Json: in})
	if err != nil {
		return out, wrapCall(name, "contribute", err)
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Json))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, &PluginError{Plugin: name, Op: "contribute",
			Err: fmt.Errorf("answer crun cannot read (%v): the plugin may need a newer crun", err)}
	}
	return out, nil
}

// Hook runs the named plugin's live hook.
func (c *Client) Hook(ctx context.Context, name string, req spec.HookRequest) error {
	in, err := json.Marshal(req)
	if err != nil {
		return &PluginError{Plugin: name, Op: "hook", Err: err}
	}
	_, err = c.client.Hook(ctx, &pb.CallRequest{Plugin: name, Json: in})
	return wrapCall(name, "hook "+string(req.Point), err)
}
