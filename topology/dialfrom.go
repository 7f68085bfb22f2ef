package topology

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
)

// DialFrom returns a dial function whose connections start inside the
// namespace from the local address, which must be one of the namespace's:
// a test client that speaks as the load balancer, or as a host that a
// firewall lets in.
func (n *Namespace) DialFrom(local netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := n.Do(func() error {
			var err error
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0))}
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// HTTPClientFrom is HTTPClient with connections from the local address.
func (n *Namespace) HTTPClientFrom(local netip.Addr, tlsConfig *tls.Config) *http.Client {
	c := n.HTTPClient(tlsConfig)
	c.Transport.(*http.Transport).DialContext = n.DialFrom(local)
	return c
}
