package boottest

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// nameServer stands in for the site's DNS inside the test's network: it
// answers A (or AAAA) queries for the names it knows and NXDOMAIN for every
// other name, at once, so that guests never wait for a resolver that
// cannot be reached. The boot test uses it to point the mail smarthost's
// name at its SMTP sink.
type nameServer struct {
	srv   *dns.Server
	names map[string]netip.Addr
	mu    sync.Mutex
	asked []string
}

// startNameServer serves names on addr:53 (UDP) inside nw.
func startNameServer(nw *topology.Network, addr netip.Addr, names map[string]netip.Addr) (*nameServer, error) {
	var pc net.PacketConn
	err := nw.Do(func() error {
		var err error
		pc, err = net.ListenPacket("udp", netip.AddrPortFrom(addr, 53).String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	return serveNames(pc, names), nil
}

// serveNames answers queries for names on pc until Close.
func serveNames(pc net.PacketConn, names map[string]netip.Addr) *nameServer {
	ns := &nameServer{names: map[string]netip.Addr{}}
	for n, a := range names {
		ns.names[dns.Fqdn(strings.ToLower(n))] = a
	}
	started := make(chan struct{})
	ns.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(ns.serve), NotifyStartedFunc: func() { close(started) }}
	// Serving ends with the test (Shutdown); its error then says nothing.
	go func() { _ = ns.srv.ActivateAndServe() }()
	<-started
	return ns
}

func (ns *nameServer) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.Rcode = dns.RcodeNameError
	for _, q := range r.Question {
		name := strings.ToLower(q.Name)
		ns.mu.Lock()
		ns.asked = append(ns.asked, name)
		ns.mu.Unlock()
		a, ok := ns.names[name]
		if !ok {
			continue
		}
		m.Rcode = dns.RcodeSuccess
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
		switch {
		case q.Qtype == dns.TypeA && a.Is4():
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IP(a.AsSlice())})
		case q.Qtype == dns.TypeAAAA && a.Is6():
			hdr.Rrtype = dns.TypeAAAA
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())})
		}
	}
	_ = w.WriteMsg(m)
}

// Close stops the server.
func (ns *nameServer) Close() error { return ns.srv.Shutdown() }
