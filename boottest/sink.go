package boottest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// Mail is one message the sink received.
type Mail struct {
	From string
	To   []string
	Data []byte
	// Peer is the address that delivered it.
	Peer string
}

// mailSink is the SMTP server standing in for the site's smarthost: it
// accepts every message and keeps it.
type mailSink struct {
	srv  *smtp.Server
	mu   sync.Mutex
	mail []Mail
	got  chan struct{}
}

// startSink listens on addr inside nw.
func startSink(nw *topology.Network, addr netip.AddrPort) (*mailSink, error) {
	l, err := nw.Listen("tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	return serveMail(l), nil
}

// serveMail accepts mail on l until Close.
func serveMail(l net.Listener) *mailSink {
	s := &mailSink{got: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s, peer: c.Conn().RemoteAddr().String()}, nil
	}))
	s.srv.Domain = "smarthost.boot-test.invalid"
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = 1 << 20
	// Serving ends with the test (Close); its error then says nothing.
	go func() { _ = s.srv.Serve(l) }()
	return s
}

// Close stops the sink.
func (s *mailSink) Close() error { return s.srv.Close() }

// Wait returns the first message whose data contains marker, waiting up to
// timeout.
func (s *mailSink) Wait(marker string, timeout time.Duration) (Mail, bool) {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		for _, m := range s.mail {
			if bytes.Contains(m.Data, []byte(marker)) {
				s.mu.Unlock()
				return m, true
			}
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			return Mail{}, false
		}
	}
}

type sinkSession struct {
	sink *mailSink
	peer string
	m    Mail
}

func (ss *sinkSession) Reset()        { ss.m = Mail{} }
func (ss *sinkSession) Logout() error { return nil }

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.m.From = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.m.To = append(ss.m.To, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.m.Data, ss.m.Peer = b, ss.peer
	ss.sink.mu.Lock()
	ss.sink.mail = append(ss.sink.mail, ss.m)
	ss.sink.mu.Unlock()
	select {
	case ss.sink.got <- struct{}{}:
	default:
	}
	return nil
}

// smarthostAddr splits Exim's "host" or "host::port" into the host name
// and port (25 by default).
func smarthostAddr(s string) (string, uint16) {
	host, port, ok := strings.Cut(s, "::")
	if strings.HasPrefix(s, "[") {
		// An IPv6 address in brackets: "[2001:db8::25]::587".
		end := strings.Index(s, "]")
		host, port, ok = s[1:max(end, 1)], "", false
		if end > 0 {
			port, ok = strings.CutPrefix(s[end+1:], "::")
		}
	}
	if !ok {
		return host, 25
	}
	var p uint16
	if _, err := fmt.Sscan(port, &p); err != nil || p == 0 {
		return host, 25
	}
	return host, p
}

// peerIP returns the address part of host:port.
func peerIP(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}
