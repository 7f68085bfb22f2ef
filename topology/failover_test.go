package topology_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// backend is a tiny HTTPS server standing in for one web host's NGINX:
// HEAD|GET /ping answers OK for the trusted host name (400 otherwise, as
// the application does), anything else answers with the host's name.
type backend struct {
	name string
	addr netip.AddrPort
	srv  *http.Server
}

func (b *backend) start(t *testing.T, nw *topology.Network, cert tls.Certificate, trusted string) {
	t.Helper()
	l, err := nw.Listen("tcp", b.addr.String())
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != trusted {
			http.Error(w, "untrusted host", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "OK")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Fixture-Host", b.name)
		io.WriteString(w, b.name)
	})
	b.srv = &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 5 * time.Second}
	go b.srv.ServeTLS(l, "", "")
}

// powerOff stops the server and takes its address away, so that the load
// balancer's connections go unanswered, as they do to a VM that is off.
func (b *backend) powerOff(t *testing.T, nw *topology.Network) {
	t.Helper()
	require.NoError(t, b.srv.Close())
	require.NoError(t, nw.IP(context.Background(), "addr", "del", b.addr.Addr().String()+"/"+fmt.Sprint(nw.Plan.Prefix.Bits()), "dev", topology.Bridge))
}

// tally counts requests through the load balancer and who answered them.
type tally struct {
	ok, failed int
	by         map[string]int
	lastFail   time.Time
	errs       []string
}

func (c *tally) get(ctx context.Context, client *http.Client, url, host string) {
	if c.by == nil {
		c.by = map[string]int{}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Host = host
	resp, err := client.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
	}
	if err != nil {
		c.failed++
		c.lastFail = time.Now()
		c.errs = append(c.errs, err.Error())
		return
	}
	c.ok++
	c.by[resp.Header.Get("X-Fixture-Host")]++
}

// TestHAProxyFailover runs Debian's haproxy, configured by HAProxyConfig
// for the prod instance, inside a namespace with two HTTPS backends on the
// web hosts' addresses; a client in the namespace sends requests through
// it while one backend is powered off and brought back. Requests keep
// succeeding once the health check noticed; failed requests are counted.
func TestHAProxyFailover(t *testing.T) {
	need.Slow(t)
	need.Tool(t, "haproxy")
	nw := newNetwork(t, "prod")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := instance(t, "prod")
	dir := t.TempDir()
	lbCert, _ := selfSigned(t, dir, "lb", "repository.tugraz.at")
	_, webCert := selfSigned(t, dir, "web", "repository.tugraz.at")

	cfg, err := topology.LBFor(nw.Plan, in, lbCert)
	require.NoError(t, err)
	cfg.Interval, cfg.ConnectTimeout = 500*time.Millisecond, time.Second
	var backends []*backend
	for _, b := range cfg.Backends {
		require.NoError(t, nw.AddAddress(ctx, b.Addr.Addr()))
		be := &backend{name: b.Name, addr: b.Addr}
		be.start(t, nw, webCert, cfg.Host)
		t.Cleanup(func() { be.srv.Close() })
		backends = append(backends, be)
	}
	text, err := topology.HAProxyConfig(cfg)
	require.NoError(t, err)
	lb, err := topology.StartHAProxy(ctx, nw.Namespace, dir, text)
	require.NoError(t, err)
	t.Cleanup(func() { t.Logf("haproxy log:\n%s", lb.Stop()) })

	client := nw.HTTPClient(&tls.Config{InsecureSkipVerify: true})
	client.Timeout = 5 * time.Second
	url := "https://" + net.JoinHostPort(cfg.Bind.Addr().String(), fmt.Sprint(cfg.Bind.Port())) + "/"

	// Both backends serve once their first health check passed.
	require.Eventually(t, func() bool {
		var c tally
		for range 4 {
			c.get(ctx, client, url, cfg.Host)
		}
		return c.ok == 4 && len(c.by) == 2
	}, 15*time.Second, 200*time.Millisecond, "both backends answer through the load balancer")

	// Power one off while requests flow: count failures, and require that
	// after the health check's reaction time every request succeeds.
	var during tally
	off := time.Now()
	backends[0].powerOff(t, nw)
	detect := time.Duration(cfg.Fall)*cfg.Interval + cfg.ConnectTimeout + time.Second
	for time.Since(off) < detect+3*time.Second {
		during.get(ctx, client, url, cfg.Host)
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("with %s off: %d requests succeeded, %d failed (%v), %v", backends[0].name, during.ok, during.failed, during.errs, during.by)
	assert.Greater(t, during.ok, 20)
	if during.failed > 0 {
		assert.Less(t, during.lastFail.Sub(off), detect, "no request fails once the health check noticed")
	}
	var after tally
	for range 10 {
		after.get(ctx, client, url, cfg.Host)
	}
	assert.Equal(t, 10, after.ok)
	assert.Equal(t, map[string]int{backends[1].name: 10}, after.by, "the powered-off host gets no requests")

	// Bring it back: it serves again after one good check.
	require.NoError(t, nw.AddAddress(ctx, backends[0].addr.Addr()))
	backends[0].start(t, nw, webCert, cfg.Host)
	require.Eventually(t, func() bool {
		var c tally
		for range 4 {
			c.get(ctx, client, url, cfg.Host)
		}
		return c.ok == 4 && c.by[backends[0].name] > 0
	}, 10*time.Second, 200*time.Millisecond, "the host that came back serves again")
	log := lb.Stop()
	assert.Contains(t, log, "invenio01-prod is DOWN")
	assert.True(t, strings.Contains(log, "invenio01-prod is UP"), "haproxy saw the host come back")
}
