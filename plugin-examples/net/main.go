// Command crun-plugin-net serves the net plugin (see Net): build it as
// crun-plugin-net and put it on crun's plugin path.
package main

import "github.com/crun-project/crun/sdk"

func main() { sdk.Serve(Net{}) }
