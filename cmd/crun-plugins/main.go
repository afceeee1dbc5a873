// Command crun-plugins is crun's plugin host. crun starts it when it needs
// plugins (a plan that is not cached, crun plan, crun plugins) and talks
// to it over its stdin and stdout (core/remote). It serves the built-in
// plugins in-process, behind the same gRPC service as a plugin process,
// and launches third-party plugins with hashicorp go-plugin. It is the
// only one of crun's binaries that links the RPC machinery, whose
// package initialisation crun and its init then do not pay for.
//
// It is not meant to be run by hand.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/crun-project/crun/core/launch"
	"github.com/crun-project/crun/core/remote"
	"github.com/crun-project/crun/plugins/builtin"
	"github.com/crun-project/crun/sdk"
)

func main() {
	fs := pflag.NewFlagSet("crun-plugins", pflag.ContinueOnError)
	timeout := fs.Duration("plugin-timeout", 5*time.Second, "how long a plugin may take to start")
	logLevel := fs.String("log-level", "off", "show what plugin processes log, from this level")
	if err := fs.Parse(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "crun-plugins: %v\n", err)
		os.Exit(2)
	}
	if isTerminal() {
		fmt.Fprintf(os.Stderr, "crun-plugins is crun's plugin host, started by crun; it is not meant to be run by hand\n")
		os.Exit(2)
	}
	var builtins []sdk.Plugin
	for _, p := range builtin.Plugins() {
		builtins = append(builtins, p)
	}
	l := &launch.ProcessLauncher{
		Builtins:     builtins,
		StartTimeout: *timeout,
		Logger:       logger(hclog.LevelFromString(*logLevel)),
	}
	remote.Serve(os.Stdin, os.Stdout, l)
	l.Close()
}

// logger logs what plugin processes log (their hclog JSON on stderr, at
// its own level). go-plugin's reports about stopping plugin processes
// are shown only when debugging: crun reports failures itself, once.
func logger(level hclog.Level) hclog.Logger {
	if level == hclog.NoLevel {
		level = hclog.Off
	}
	quiet := map[string]bool{
		"plugin failed to exit gracefully": true,
		"plugin process exited":            true,
	}
	return hclog.New(&hclog.LoggerOptions{
		Name: "crun", Level: level, Output: os.Stderr,
		Exclude: func(l hclog.Level, msg string, _ ...interface{}) bool {
			return quiet[msg] && level > hclog.Debug
		},
	})
}

func isTerminal() bool {
	fi, err := os.Stdin.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
