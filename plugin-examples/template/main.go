// Command crun-plugin-workdir serves the workdir plugin (see Workdir):
// build it as crun-plugin-workdir and put it on crun's plugin path.
package main

import "github.com/crun-project/crun/sdk"

func main() { sdk.Serve(Workdir{}) }
