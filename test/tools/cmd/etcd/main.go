// Command etcd is etcd v3.6 built from the module proxy. `go install` refuses
// etcd's own main package because of its replace directives, so this wrapper
// calls the same entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
