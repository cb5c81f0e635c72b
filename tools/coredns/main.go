// Command coredns is CoreDNS with only the plugins the node of `make cluster` serves its cluster domain with
// (tools/cluster/dns.py writes the Corefile): bind, ready, errors, cache, kubernetes. No forward plugin: names outside
// the cluster domain are refused, so pods resolve nothing beyond this node.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	// The order of CoreDNS's plugin.cfg (it is the order a query passes the plugins in), restricted to these.
	dnsserver.Directives = []string{"bind", "ready", "errors", "cache", "kubernetes"}
}

func main() {
	coremain.Run()
}
