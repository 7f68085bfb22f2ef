package topology

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"text/template"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// WebPort is where NGINX listens on each web host.
const WebPort = 8080

// LBPort is where the load balancer stand-in listens on its address.
const LBPort = 443

//go:embed haproxy.cfg.tmpl
var haproxyTemplate string

var haproxyTmpl = template.Must(template.New("haproxy.cfg").Parse(haproxyTemplate))

// LBConfig is the configuration of the HAProxy standing in for the F5.
type LBConfig struct {
	// Instance names the instance, for the file's comment.
	Instance string
	// Bind is the frontend's address, e.g. 10.10.3.253:443.
	Bind netip.AddrPort
	// Source is the address HAProxy connects to the web hosts from (the
	// F5's, which their firewall lets in); unset, the kernel picks one, the
	// namespace's first: the test client's.
	Source netip.Addr
	// Cert is the PEM file with the frontend's certificate and key.
	Cert string
	// Host is the Host header of the health checks: a name the
	// application trusts (the instance's public host name).
	Host string
	// Backends are the web hosts' NGINX, in order.
	Backends []Backend
	// Interval is the time between health checks; default 1s.
	Interval time.Duration
	// Fall and Rise are how many checks take a backend out and put it
	// back; default 2 and 1.
	Fall, Rise int
	// ConnectTimeout bounds connecting to a backend and a check; default 2s.
	ConnectTimeout time.Duration
	// StatsSocket and PIDFile are optional paths.
	StatsSocket, PIDFile string
}

// Backend is one web host behind the load balancer.
type Backend struct {
	Name string
	Addr netip.AddrPort
}

// LBFor returns the load balancer of plan p for instance in: listening on
// the plan's LB address, checking and forwarding to every web host's
// NGINX, with the instance's public host name in the health checks.
func LBFor(p Plan, in site.Instance, cert string) (LBConfig, error) {
	u, err := url.Parse(in.URL)
	if err != nil || u.Hostname() == "" {
		return LBConfig{}, fmt.Errorf("topology: instance %s: URL %q has no host name", in.Name, in.URL)
	}
	c := LBConfig{Instance: in.Name, Bind: netip.AddrPortFrom(p.LB, LBPort), Source: p.LB, Cert: cert, Host: u.Hostname()}
	for _, h := range p.Web() {
		c.Backends = append(c.Backends, Backend{Name: h.Name, Addr: netip.AddrPortFrom(h.Addr, WebPort)})
	}
	if len(c.Backends) == 0 {
		return LBConfig{}, fmt.Errorf("topology: instance %s has no web host", in.Name)
	}
	return c, nil
}

// withDefaults fills the optional fields.
func (c LBConfig) withDefaults() LBConfig {
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.Fall == 0 {
		c.Fall = 2
	}
	if c.Rise == 0 {
		c.Rise = 1
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 2 * time.Second
	}
	return c
}

// safeRe is what names, paths and host names in the file may contain.
var safeRe = regexp.MustCompile(`^[A-Za-z0-9._/:+-]+$`)

func (c LBConfig) check() error {
	var errs []error
	if !c.Bind.IsValid() || len(c.Backends) == 0 {
		errs = append(errs, errors.New("need a bind address and at least one backend"))
	}
	for what, s := range map[string]string{"certificate": c.Cert, "host": c.Host} {
		if !safeRe.MatchString(s) {
			errs = append(errs, fmt.Errorf("%s %q: want letters, digits and ._/:+-", what, s))
		}
	}
	for _, b := range c.Backends {
		if !safeRe.MatchString(b.Name) || !b.Addr.IsValid() {
			errs = append(errs, fmt.Errorf("backend %q %s: want a plain name and an address", b.Name, b.Addr))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("topology: haproxy: %w", err)
	}
	return nil
}

// HAProxyConfig renders c as haproxy.cfg.
func HAProxyConfig(c LBConfig) (string, error) {
	c = c.withDefaults()
	if err := c.check(); err != nil {
		return "", err
	}
	data := map[string]any{
		"Instance": c.Instance, "Bind": c.Bind.String(), "Source": sourceOf(c.Source), "Cert": c.Cert, "Host": c.Host,
		"Backends": c.Backends, "Interval": haDuration(c.Interval), "Fall": c.Fall, "Rise": c.Rise,
		"ConnectTimeout": haDuration(c.ConnectTimeout), "StatsSocket": c.StatsSocket, "PIDFile": c.PIDFile,
	}
	var b bytes.Buffer
	if err := haproxyTmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("topology: haproxy: %w", err)
	}
	return b.String(), nil
}

// haDuration writes a duration as HAProxy reads it: milliseconds, or whole seconds.
func haDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// HAProxy is a running haproxy inside a namespace.
type HAProxy struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan error
	stop sync.Once
}

// StartHAProxy writes config to dir/haproxy.cfg, checks it with haproxy -c
// and runs haproxy in the foreground inside ns, logging to a buffer.
func StartHAProxy(ctx context.Context, ns *Namespace, dir, config string) (*HAProxy, error) {
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	if out, err := ns.Command(ctx, "haproxy", "-c", "-q", "-f", cfg).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("topology: haproxy -c: %w: %s", err, out)
	}
	h := &HAProxy{log: &bytes.Buffer{}, done: make(chan error, 1)}
	h.cmd = ns.Command(ctx, "haproxy", "-db", "-f", cfg)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("topology: starting haproxy: %w", err)
	}
	go func() { h.done <- h.cmd.Wait() }()
	return h, nil
}

// Stop ends haproxy (SIGTERM to its process group, SIGKILL after 5 s) and
// returns its log.
func (h *HAProxy) Stop() string {
	h.stop.Do(func() {
		pgid := h.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-h.done: //nolint:errcheck // stopped on purpose: its exit status says nothing
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-h.done //nolint:errcheck // killed: its exit status says nothing
		}
	})
	return h.log.String()
}

// sourceOf is HAProxy's source address, or "" for the kernel's choice.
func sourceOf(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
