package boottest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// closedWait is how long a connection to a port the firewall drops is
// given before it counts as closed.
const closedWait = 3 * time.Second

// firewallCheck proves each host's firewall through the real network: from
// the test client, which is none of the instance's hosts, every service
// port of the services host and NGINX's :8080 on every web host are closed;
// from every web host each service port is open; :8080 is open from the
// load balancer's address; and every host has the invenio table loaded.
func (t *Test) firewallCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		svc := t.servicesGuest()
		ports := t.servicePorts(svc)
		var problems []string
		for _, g := range t.guests {
			if _, err := g.run(ctx, "nft list table inet invenio >/dev/null"); err != nil {
				problems = append(problems, g.Host.Name+": no invenio table in the ruleset")
			}
		}
		// The test client's connections to closed ports each wait
		// closedWait for an answer that never comes: made at once.
		var dials []dial
		for _, p := range ports {
			dials = append(dials, dial{t.plan.Client, svc.addr(), p.Port})
		}
		for _, w := range t.webGuests() {
			dials = append(dials, dial{t.plan.Client, w.addr(), topology.WebPort}, dial{t.plan.LB, w.addr(), topology.WebPort})
		}
		errs := t.dialAll(ctx, dials)
		for i, p := range ports {
			fmt.Fprintf(out, "%s → %s:%d (%s): %s\n", t.plan.Client, svc.Host.Name, p.Port, p.What, result(errs[i]))
			if errs[i] == nil {
				problems = append(problems, fmt.Sprintf("%s (%d) open to the test client", p.What, p.Port))
			}
		}
		nginx := errs[len(ports):] // two per web host: from the client, from the load balancer
		for i, w := range t.webGuests() {
			problems = append(problems, t.nginxOnlyFromLB(w, nginx[2*i], nginx[2*i+1], out)...)
			problems = append(problems, t.portsOpenFrom(ctx, w, svc.addr(), ports, out)...)
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}

// servicePorts are the services host's ports the check expects open to
// the instance's hosts: the search engine's not where a stand-in replaces it.
func (t *Test) servicePorts(svc *guest) []roles.ServicePort {
	ports := roles.ServicePorts(t.site, t.in)
	if t.searchStandIn(svc) {
		ports = slices.DeleteFunc(ports, func(p roles.ServicePort) bool { return p.Port == 9200 })
	}
	return ports
}

// nginxOnlyFromLB reports what the connections to web host w's :8080 from
// the test client (fromClient) and from the load balancer's address
// (fromLB) found: closed to the first, open to the second.
func (t *Test) nginxOnlyFromLB(w *guest, fromClient, fromLB error, out io.Writer) []string {
	var problems []string
	fmt.Fprintf(out, "%s → %s:%d (NGINX): %s\n", t.plan.Client, w.Host.Name, topology.WebPort, result(fromClient))
	if fromClient == nil && len(t.site.LoadBalancerFor(t.in).Addresses) > 0 {
		problems = append(problems, w.Host.Name+": NGINX open to the test client")
	}
	fmt.Fprintf(out, "%s → %s:%d (NGINX, from the load balancer's address): %s\n", t.plan.LB, w.Host.Name, topology.WebPort, result(fromLB))
	if fromLB != nil {
		problems = append(problems, w.Host.Name+": NGINX closed to the load balancer")
	}
	return problems
}

// openLine is one line of portsOpenFrom's probe.
var openLine = regexp.MustCompile(`(?m)^(\d+) (open|closed)$`)

// portsOpenFrom connects from guest g to each port of addr (bash's
// /dev/tcp) and reports the ports that did not open.
func (t *Test) portsOpenFrom(ctx context.Context, g *guest, addr netip.Addr, ports []roles.ServicePort, out io.Writer) []string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "if timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%d'; then echo '%d open'; else echo '%d closed'; fi\n", addr, p.Port, p.Port, p.Port)
	}
	res, err := g.run(ctx, b.String())
	if err != nil {
		return []string{fmt.Sprintf("%s: probing the services' ports: %v", g.Host.Name, err)}
	}
	state := map[int]string{}
	for _, m := range openLine.FindAllStringSubmatch(res, -1) {
		n, _ := strconv.Atoi(m[1])
		state[n] = m[2]
	}
	var problems []string
	for _, p := range ports {
		fmt.Fprintf(out, "%s → %s:%d (%s): %s\n", g.Host.Name, addr, p.Port, p.What, state[p.Port])
		if state[p.Port] != "open" {
			problems = append(problems, fmt.Sprintf("%s (%d) closed to web host %s", p.What, p.Port, g.Host.Name))
		}
	}
	return problems
}

// dial is one connection attempt of dialAll.
type dial struct {
	from, to netip.Addr
	port     int
}

// dialAll makes every connection attempt at once (dialFrom) and returns
// their results in order.
func (t *Test) dialAll(ctx context.Context, dials []dial) []error {
	return inParallel(len(dials), func(i int) error {
		return t.dialFrom(ctx, dials[i].from, dials[i].to, dials[i].port)
	})
}

// dialFrom connects from a local address of the test's namespace to
// to:port and closes the connection; nil means the port is open.
func (t *Test) dialFrom(ctx context.Context, from, to netip.Addr, port int) error {
	ctx, cancel := context.WithTimeout(ctx, closedWait)
	defer cancel()
	c, err := t.nw.DialFrom(from)(ctx, "tcp", netip.AddrPortFrom(to, uint16(port)).String())
	if err != nil {
		return err
	}
	return c.Close()
}

// result says what a connection attempt found.
func result(err error) string {
	switch {
	case err == nil:
		return "open"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "i/o timeout"):
		return "filtered (no answer)"
	default:
		return "closed (" + err.Error() + ")"
	}
}

// clientFor returns the HTTPS client for base: requests to the load
// balancer come from the test client; requests straight to a web host's
// NGINX come from the load balancer's address, the only one its firewall
// lets in, as the F5's health checks do.
func (t *Test) clientFor(base string) *http.Client {
	if base == t.lbBase() {
		return t.client()
	}
	c := t.nw.HTTPClientFrom(t.plan.LB, t.pki.ClientTLS(t.urlHost))
	c.Timeout = 30 * time.Second
	return c
}

// nftHandle is the handle nft --echo --handle prints for a rule it added.
var nftHandle = regexp.MustCompile(`# handle (\d+)`)

// throughFirewall runs c with the services host's firewall open to the test
// client on port, for the checks that prove a daemon's own refusal (pg_hba,
// Redis auth, RabbitMQ users, Exim's relay list) from a host that is none of
// the instance's: the firewall alone would hide it. The rule goes again
// when c returns; firewallCheck proves the port closed without it.
func (t *Test) throughFirewall(g *guest, port int, c check) check {
	return func(ctx context.Context, out io.Writer) error {
		fam := "ip"
		if t.plan.Client.Is6() {
			fam = "ip6"
		}
		rule := fmt.Sprintf("%s saddr %s tcp dport %d accept comment \"boot-test\"", fam, t.plan.Client, port)
		res, err := g.run(ctx, "nft --echo --handle insert rule inet invenio input "+escape.Shell(rule))
		m := nftHandle.FindStringSubmatch(res)
		if err != nil {
			return fmt.Errorf("opening the firewall to the test client on %d: %w: %s", port, err, res)
		}
		if m == nil {
			return fmt.Errorf("opening the firewall to the test client on %d: no rule handle in %q", port, res)
		}
		fmt.Fprintf(out, "firewall: %d open to the test client %s for this check only (rule handle %s)\n", port, t.plan.Client, m[1])
		defer func() {
			if _, err := g.run(context.WithoutCancel(ctx), "nft delete rule inet invenio input handle "+m[1]); err != nil {
				fmt.Fprintf(out, "firewall: removing rule %s: %v\n", m[1], err)
			}
		}()
		return c(ctx, out)
	}
}

// sessionsRedisCheck proves the sessions Redis answers only after AUTH and
// never evicts, asking it on the services host itself.
func (t *Test) sessionsRedisCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		addr := g.addr().String()
		noauth, _ := g.run(ctx, "redis-cli -h "+addr+" -p 6380 ping 2>&1")
		fmt.Fprintf(out, "PING without auth: %s\n", strings.TrimSpace(noauth))
		if !strings.Contains(noauth, "NOAUTH") {
			return fmt.Errorf("the sessions Redis answered %q to a PING without auth, want NOAUTH", strings.TrimSpace(noauth))
		}
		pw := escape.Shell(t.secret["INVENIO_REDIS_PASSWORD"])
		policy, err := g.run(ctx, "REDISCLI_AUTH="+pw+" redis-cli -h "+addr+" -p 6380 config get maxmemory-policy | tail -n 1")
		fmt.Fprintf(out, "maxmemory-policy: %s\n", strings.TrimSpace(policy))
		if err != nil {
			return err
		}
		if strings.TrimSpace(policy) != "noeviction" {
			return fmt.Errorf("the sessions Redis evicts (%s)", strings.TrimSpace(policy))
		}
		return nil
	}
}
