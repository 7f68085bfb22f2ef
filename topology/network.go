package topology

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
)

// Network is a plan made real: a namespace with the bridge, the client's
// and load balancer's addresses on it, and a tap device per host.
type Network struct {
	*Namespace
	Plan Plan
}

// New creates the namespace and the plan's devices in it. On error nothing
// is left behind. Close the network when done.
func New(ctx context.Context, p Plan) (*Network, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	ns, err := NewNamespace(ctx)
	if err != nil {
		return nil, err
	}
	nw := &Network{Namespace: ns, Plan: p}
	if err := nw.build(ctx); err != nil {
		return nil, errors.Join(err, ns.Close())
	}
	return nw, nil
}

// SetupCommands are the ip(8) argument lists New runs inside the
// namespace, in order: the bridge, the client's and load balancer's
// addresses, and each host's tap device on the bridge.
func SetupCommands(p Plan) [][]string {
	bits := strconv.Itoa(p.Prefix.Bits())
	cmds := [][]string{
		{"link", "add", Bridge, "type", "bridge"},
		{"link", "set", Bridge, "up"},
		{"addr", "add", p.Client.String() + "/" + bits, "dev", Bridge},
		{"addr", "add", p.LB.String() + "/" + bits, "dev", Bridge},
	}
	for _, h := range p.Hosts {
		cmds = append(cmds,
			[]string{"tuntap", "add", "dev", h.Tap, "mode", "tap"},
			[]string{"link", "set", h.Tap, "master", Bridge, "up"})
	}
	return cmds
}

func (nw *Network) build(ctx context.Context) error {
	for _, args := range SetupCommands(nw.Plan) {
		if err := nw.IP(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// AddAddress puts one more address on the bridge, e.g. a web host's when a
// test stands in for the host itself. Never use it for a host whose VM runs.
func (nw *Network) AddAddress(ctx context.Context, a netip.Addr) error {
	return nw.IP(ctx, "addr", "add", a.String()+"/"+strconv.Itoa(nw.Plan.Prefix.Bits()), "dev", Bridge)
}
