package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/crun-project/crun/sdk/sdktest"
)

// The integration tests run the real crun, built from this repository,
// with the plugin built and installed as a third party would, through
// sdk/sdktest's helpers. This file only builds them and names the
// helpers for the tests; it is the same in every example (pluginName is
// set next to the tests).

var (
	host      *sdktest.Crun
	testDir   string // everything the tests build; removed at the end
	crunBin   string
	pluginDir string // holds crun-plugin-NAME, for CRUN_PLUGIN_PATH
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	var err error
	if host, err = sdktest.BuildFromRepo(filepath.Join("..", ".."), ".", pluginName); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	defer host.Remove()
	testDir, crunBin, pluginDir = host.Owned, host.Bin, host.PluginDir
	return m.Run()
}

type result = sdktest.Result
type hostState = sdktest.HostState

func requireRoot(t *testing.T)                                  { sdktest.RequireRoot(t) }
func crunCommand(ctx context.Context, args ...string) *exec.Cmd { return host.Command(ctx, args...) }
func crun(t *testing.T, args ...string) result                  { t.Helper(); return host.Run(t, args...) }
func snapshot(t *testing.T) hostState                           { t.Helper(); return host.Snapshot(t) }
func nothingLeft(t *testing.T, before hostState)                { t.Helper(); host.NothingLeft(t, before) }
func added(before, after []string) []string                     { return sdktest.Added(before, after) }
func randomHex() string                                         { return sdktest.RandomHex() }
