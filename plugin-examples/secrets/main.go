// Command crun-plugin-secrets serves the secrets plugin (see Secrets):
// build it as crun-plugin-secrets and put it on crun's plugin path.
package main

import "github.com/crun-project/crun/sdk"

func main() { sdk.Serve(Secrets{}) }
