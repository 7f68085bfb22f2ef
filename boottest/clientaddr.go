package boottest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// spoofedFor is the address a client writes into X-Forwarded-For to pass
// for another (TEST-NET-3: nobody's).
const spoofedFor = "203.0.113.9"

// clientAddressCheck sends a request with a forged X-Forwarded-For through
// the load balancer and finds it in the access log of the web host that
// answered: with a load balancer that adds X-Forwarded-For (HAProxy's
// option forwardfor, as the F5's) NGINX logs the test client's address, the
// last one the load balancer added, never the forged one; with
// forwards_for: false it logs the load balancer's. Either way the line names
// the request's id, and the application (behind ProxyFix, as its
// PROXYFIX_CONFIG says) sees the same address as NGINX.
func (t *Test) clientAddressCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		word := marker("client")
		host, app, err := t.forgedRequest(ctx, "/api/fixture/info?"+word)
		if err != nil {
			return err
		}
		g := t.guestNamed(host)
		if g == nil {
			return fmt.Errorf("the answer names host %q, which is none of the instance's web hosts", host)
		}
		var line string
		err = poll(ctx, 10*time.Second, time.Second, func() error {
			l, err := g.run(ctx, "grep -F -- "+escape.Shell(word)+" /var/log/nginx/access.log | tail -n 1")
			if err != nil {
				return fmt.Errorf("no access log line for %s on %s: %w", word, host, err)
			}
			if strings.TrimSpace(l) == "" {
				return fmt.Errorf("no access log line for %s on %s", word, host)
			}
			line = strings.TrimSpace(l)
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "access log on %s: %s\n", host, line)
		want := t.plan.Client.String()
		forwards := t.site.LoadBalancerFor(t.in).ForwardsFor
		if !forwards {
			want = t.plan.LB.String()
		}
		if first, _, _ := strings.Cut(line, " "); first != want {
			return fmt.Errorf("the access log names %s as the client, want %s (forwards_for: %v)", first, want, forwards)
		}
		fmt.Fprintf(out, "the application on %s sees the client as %s\n", host, app)
		if app != want {
			return fmt.Errorf("the application sees %s as the client, want %s (forwards_for: %v)", app, want, forwards)
		}
		if !strings.Contains(line, "rid=") || strings.Contains(line, "rid= ") || strings.Contains(line, "rid=-") {
			return fmt.Errorf("the access log line has no request id: %s", line)
		}
		return nil
	}
}

// forgedRequest GETs path (the fixture's /api/fixture/info) through the
// load balancer with a forged X-Forwarded-For and returns the name of the
// web host that answered and the client address its application saw.
func (t *Test) forgedRequest(ctx context.Context, path string) (host, remote string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.lbBase()+path, nil)
	if err != nil {
		return "", "", err
	}
	req.Host = t.urlHost
	req.Header.Set("X-Forwarded-For", spoofedFor)
	resp, err := t.client().Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("GET %s through the load balancer: %s", path, resp.Status)
	}
	var info struct {
		RemoteAddr string `json:"remote_addr"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return "", "", fmt.Errorf("GET %s: %w: %s", path, err, body)
	}
	return resp.Header.Get(hostHeader), info.RemoteAddr, nil
}

// guestNamed returns the guest with the given host name, or nil.
func (t *Test) guestNamed(name string) *guest {
	for _, g := range t.guests {
		if g.Host.Name == name {
			return g
		}
	}
	return nil
}

// containsAddr reports whether one of nets contains a.
func containsAddr(nets []netip.Prefix, a netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}
