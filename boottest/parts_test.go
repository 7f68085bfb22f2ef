package boottest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/netip"
	"net/smtp"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

func TestSizeMiB(t *testing.T) {
	for in, want := range map[string]int{"2GB": 2048, "512MB": 512, "1.5GB": 1536, "8192kB": 8, "junk": 256} {
		assert.Equal(t, want, sizeMiB(in), in)
	}
}

func TestMemoryMiB(t *testing.T) {
	sz := site.Sizing{PostgreSQL: site.PostgreSQL{SharedBuffers: "2GB"}}
	assert.Equal(t, 2048, memoryMiB(site.Host{Roles: []site.Role{site.RoleWeb}}, sz))
	assert.Equal(t, 6144, memoryMiB(site.Host{Roles: []site.Role{site.RoleServices}}, sz), "room for 2GB of shared buffers")
	assert.Equal(t, 8192, memoryMiB(site.Host{Roles: []site.Role{site.RoleWeb, site.RoleServices}}, sz))
	assert.Equal(t, 2048, memoryMiB(site.Host{Roles: []site.Role{"other"}}, sz), "a host of another role gets a web host's")
}

func TestSmarthostAddr(t *testing.T) {
	for in, want := range map[string]struct {
		host string
		port uint16
	}{
		"smtp.example.org":        {"smtp.example.org", 25},
		"smtp.example.org::587":   {"smtp.example.org", 587},
		"[2001:db8::25]::587":     {"2001:db8::25", 587},
		"smtp.example.org::bogus": {"smtp.example.org", 25},
	} {
		h, p := smarthostAddr(in)
		assert.Equal(t, want.host, h, in)
		assert.Equal(t, want.port, p, in)
	}
}

func TestPKIIssues(t *testing.T) {
	p, err := NewPKI("prod")
	require.NoError(t, err)
	certPEM, keyPEM, err := p.Issue([]string{"repository.example.org", "web1"}, []netip.Addr{netip.MustParseAddr("10.0.0.11")})
	require.NoError(t, err)
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err, "the key matches the certificate")
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	for _, name := range []string{"repository.example.org", "web1", "10.0.0.11"} {
		_, err = c.Verify(x509.VerifyOptions{Roots: p.Pool, DNSName: name})
		assert.NoError(t, err, name)
	}
	_, err = c.Verify(x509.VerifyOptions{Roots: p.Pool, DNSName: "other.example.org"})
	assert.Error(t, err, "only the names asked for")
	other, err := NewPKI("prod")
	require.NoError(t, err)
	_, err = c.Verify(x509.VerifyOptions{Roots: other.Pool, DNSName: "web1"})
	assert.Error(t, err, "another run's authority does not vouch for it")
}

func TestNameServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	sink := netip.MustParseAddr("10.0.0.254")
	ns := serveNames(pc, map[string]netip.Addr{"SMTP.example.org": sink})
	defer ns.Close()
	ask := func(name string, qtype uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		r, err := dns.Exchange(m, pc.LocalAddr().String())
		require.NoError(t, err)
		return r
	}
	r := ask("smtp.example.org", dns.TypeA)
	require.Equal(t, dns.RcodeSuccess, r.Rcode)
	require.Len(t, r.Answer, 1)
	assert.Equal(t, "10.0.0.254", r.Answer[0].(*dns.A).A.String())
	r = ask("smtp.example.org", dns.TypeAAAA)
	assert.Equal(t, dns.RcodeSuccess, r.Rcode, "the name exists")
	assert.Empty(t, r.Answer, "but has no IPv6 address")
	assert.Equal(t, dns.RcodeNameError, ask("deb.example.org", dns.TypeA).Rcode, "every other name does not exist")
}

func TestMailSink(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := serveMail(l)
	defer s.Close()
	_, ok := s.Wait("marker-1", 100*time.Millisecond)
	assert.False(t, ok, "nothing received yet")
	err = smtp.SendMail(l.Addr().String(), nil, "a@example.org", []string{"b@example.org"},
		[]byte("Subject: marker-1\r\n\r\nbody\r\n"))
	require.NoError(t, err)
	m, ok := s.Wait("marker-1", 5*time.Second)
	require.True(t, ok)
	assert.Equal(t, "a@example.org", m.From)
	assert.Equal(t, []string{"b@example.org"}, m.To)
	assert.Equal(t, "127.0.0.1", peerIP(m.Peer))
}

func TestCloudInitErrors(t *testing.T) {
	assert.NoError(t, cloudInitErrors(`{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/vdb][dsmode=net]", "errors": []}}`))
	err := cloudInitErrors(`{"v1": {"errors": ["('write_files', OSError('bad'))"]}}`)
	assert.ErrorContains(t, err, "cloud-init reported errors: ('write_files', OSError('bad'))")
	assert.Error(t, cloudInitErrors("not json"))
	assert.NoError(t, cloudInitErrors("disabled\n"), "later boots: the seed disabled cloud-init")
	assert.Equal(t, "disabled", cloudInitState("disabled\n"))
	assert.Equal(t, "ran", cloudInitState(`{"v1": {"errors": []}}`))
}
