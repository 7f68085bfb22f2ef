package roles

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Ports the uWSGI applications listen on, on loopback only.
const (
	uiPort       = 5000
	apiPort      = 5001
	uiStatsPort  = 9000
	apiStatsPort = 9001
)

// App returns the site's application settings.
func (c *Context) App() site.Application { return c.Site.Application }

// URL returns the instance's public URL without a trailing slash.
func (c *Context) URL() string { return strings.TrimRight(c.Instance.URL, "/") }

// Hostname returns the host part of the instance's public URL.
func (c *Context) Hostname() string {
	u, err := url.Parse(c.Instance.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Services returns the instance's services host.
func (c *Context) Services() site.Host { return c.Instance.Services() }

// ServicesAddr returns the services host's internal address.
func (c *Context) ServicesAddr() string { return c.Instance.Services().Address }

// WebHosts returns the instance's web hosts.
func (c *Context) WebHosts() []site.Host { return c.Instance.HostsWith(site.RoleWeb) }

// TrustedHosts returns the host names the application answers to: the
// public name, every web host's name and address, and localhost.
func (c *Context) TrustedHosts() []string {
	names := []string{c.Hostname(), "localhost", "127.0.0.1"}
	for _, h := range c.WebHosts() {
		names = append(names, h.Name, h.Address)
	}
	return uniq(names)
}

// RelayNets returns the Exim relay_nets list: the web hosts' addresses.
func (c *Context) RelayNets() string {
	var nets []string
	for _, h := range c.WebHosts() {
		nets = append(nets, eximAddr(hostCIDR(h.Address)))
	}
	return strings.Join(uniq(nets), " ; ")
}

// Engine returns the search engine's name, which is also its package's.
func (c *Context) Engine() string { return string(c.Site.Search.Engine) }

// ClusterName returns the search engine's cluster name.
func (c *Context) ClusterName() string { return c.Site.Search.ClusterName }

// Storage returns the shared storage mountpoint, or "" without shared storage.
func (c *Context) Storage() string {
	if c.Site.Storage.Type == site.StorageNone || c.Site.Storage.Type == "" {
		return ""
	}
	return c.Site.Storage.Mountpoint
}

// ExportsStorage reports whether the services host exports the shared
// storage to the web hosts over NFS (see site.Site.ExportsStorage).
func (c *Context) ExportsStorage() bool { return c.Site.ExportsStorage(c.Instance) }

// LocalStorage reports whether the shared storage is a plain directory at
// the mountpoint, which nobody mounts (see site.Site.LocalStorage).
func (c *Context) LocalStorage() bool { return c.Site.LocalStorage(c.Instance) }

// NFSClients returns the addresses the shared storage is exported to: the
// web hosts'.
func (c *Context) NFSClients() []string {
	var addrs []string
	for _, h := range c.WebHosts() {
		addrs = append(addrs, h.Address)
	}
	return uniq(addrs)
}

// PG returns the PostgreSQL sizing.
func (c *Context) PG() site.PostgreSQL { return c.Sizing.PostgreSQL }

// Redis returns the Redis sizing.
func (c *Context) Redis() site.Redis { return c.Sizing.Redis }

// Heap returns the search engine's JVM heap.
func (c *Context) Heap() string { return c.Sizing.Search.Heap }

// UploadLimit returns NGINX's limit for file content uploads.
func (c *Context) UploadLimit() string { return c.Sizing.UploadLimit }

// UIPort returns the loopback port of the UI's uWSGI application.
func (c *Context) UIPort() int { return uiPort }

// APIPort returns the loopback port of the API's uWSGI application.
func (c *Context) APIPort() int { return apiPort }

// PGVersion returns the PostgreSQL major version of the instance's suite.
func (c *Context) PGVersion() string { return PostgreSQLVersion(c.Instance.Suite) }

// PostgreSQLVersion maps a Debian suite to the PostgreSQL major version it ships.
func PostgreSQLVersion(suite string) string {
	switch suite {
	case "bullseye":
		return "13"
	case "trixie":
		return "17"
	default:
		return "15"
	}
}

// hostCIDR returns the single-host network of an address: a.b.c.d/32 or x::y/128.
func hostCIDR(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	return netip.PrefixFrom(a, a.BitLen()).String()
}

// hostPort joins an address and a port, bracketing IPv6 addresses.
func hostPort(addr string, port int) string { return net.JoinHostPort(addr, strconv.Itoa(port)) }

// eximAddr doubles the colons of IPv6 addresses, as Exim lists need.
func eximAddr(s string) string { return strings.ReplaceAll(s, ":", "::") }

// uniq returns items without empty strings and duplicates, keeping order.
func uniq(items []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range items {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
