// Command kgate gives engineers and scripts safe, simple access to Kubernetes.
package main

import (
	"os"

	"github.com/kgate/kgate/internal/cli"
	_ "github.com/kgate/kgate/internal/kubectlinit" // before kubectl's packages: no message catalogs
)

func main() { os.Exit(cli.Main()) }
