package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	testDir   string // everything the tests build; removed at the end
	crunBin   string
	pluginDir string // holds crun-plugin-NAME, for CRUN_PLUGIN_PATH
	runPrefix string // --name prefix of this process's containers
	host      *sdktest.Crun
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		if testDir != "" {
			os.RemoveAll(testDir)
		}
		return 1
	}
	defer os.RemoveAll(testDir)
	return m.Run()
}

// setup builds crun (with crun-init and crun-plugins beside it) from the
// repository, and the plugin.
func setup() error {
	var err error
	if testDir, err = os.MkdirTemp("", "crun-example-"+pluginName+"-"); err != nil {
		return err
	}
	repoRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	crunBin = filepath.Join(testDir, "crun")
	for _, name := range []string{"crun", "crun-init", "crun-plugins"} {
		if err := sdktest.GoBuild(repoRoot, "./cmd/"+name, filepath.Join(testDir, name)); err != nil {
			return err
		}
	}
	pluginDir = filepath.Join(testDir, "plugins")
	if _, err := sdktest.BuildPlugin(".", pluginDir, pluginName); err != nil {
		return err
	}
	runPrefix = "example-" + pluginName + "-" + randomHex()
	host = &sdktest.Crun{Bin: crunBin, PluginDir: pluginDir, Prefix: runPrefix, Owned: testDir}
	return nil
}

// randomHex returns a few random bytes in hex, for unique names.
func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type result = sdktest.Result
type hostState = sdktest.HostState

func requireRoot(t *testing.T)                                  { sdktest.RequireRoot(t) }
func crunCommand(ctx context.Context, args ...string) *exec.Cmd { return host.Command(ctx, args...) }
func crun(t *testing.T, args ...string) result                  { t.Helper(); return host.Run(t, args...) }
func snapshot(t *testing.T) hostState                           { t.Helper(); return host.Snapshot(t) }
func nothingLeft(t *testing.T, before hostState)                { t.Helper(); host.NothingLeft(t, before) }
func added(before, after []string) []string                     { return sdktest.Added(before, after) }
