// Command kgate gives engineers and scripts safe, simple access to Kubernetes.
package main

import (
	"os"

	"github.com/kgate/kgate/internal/cli"
)

func main() { os.Exit(cli.Main()) }
