// Command crun-plugin-ipc serves the ipc plugin (see IPC): build it as
// crun-plugin-ipc and put it on crun's plugin path.
package main

import "github.com/crun-project/crun/sdk"

func main() { sdk.Serve(IPC{}) }
