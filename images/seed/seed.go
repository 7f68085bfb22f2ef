// Package seed makes cloud-init NoCloud seeds: the meta-data, user-data
// and network-config a baked role image needs on its first boot to become
// one host of an instance, as a small FAT image labelled CIDATA (and
// optionally an ISO 9660 image labelled cidata), made without mounts.
//
// The user-data carries the instance's secrets file and, on web hosts, the
// TLS certificate and key NGINX serves; seeds are therefore written 0600
// and nothing here logs their content. It sets no password: logins are by
// SSH key only.
package seed

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// SecretsPath is where the secrets file goes on every host.
const SecretsPath = "/etc/invenio/secrets.env"

// DefaultInterfaceMatch selects the interface that gets the host's address:
// the predictable names of Ethernet devices (ens3, enp1s0, …).
const DefaultInterfaceMatch = "en*"

// Config is everything one host's seed says.
type Config struct {
	// InstanceID is cloud-init's instance-id. It stays the same for a host
	// across rebuilt seeds, so booting again with a seed attached does not
	// re-run per-instance modules (which would make new SSH host keys).
	InstanceID string
	// Hostname is the host's short name.
	Hostname string
	// FQDN is the host's fully qualified name; empty for none.
	FQDN string
	// Address is the host's static address with its prefix length.
	Address netip.Prefix
	// Gateway is the default route's gateway; invalid (zero) for none.
	Gateway netip.Addr
	// Nameservers and Search configure DNS; empty for none.
	Nameservers []netip.Addr
	Search      []string
	// InterfaceMatch is the interface name glob the address goes to;
	// default DefaultInterfaceMatch.
	InterfaceMatch string
	// SSHAuthorizedKeys are public keys for the image's default user.
	SSHAuthorizedKeys []string
	// Secrets become /etc/invenio/secrets.env, 0640 root:invenio.
	Secrets Secrets
	// TLS is the certificate and key NGINX serves; nil for none (always
	// nil on a host without the web role).
	TLS *TLS
	// AppSecrets become site.AppSecretsPath, 0640 root:invenio, on a web
	// host; none elsewhere.
	AppSecrets AppSecrets
	// CephSecret is the Ceph client's key and CephSecretPath its file
	// (0600 root:root), on a web host that mounts CephFS as a named client.
	CephSecret     CephSecret
	CephSecretPath string
}

// Options override the instance's network settings from the site file
// (site.Network) and add what the site does not hold; zero values keep the
// site's.
type Options struct {
	// PrefixLen is the internal network's prefix length; 0 means the site's
	// (which defaults to /24 for IPv4 and /64 for IPv6).
	PrefixLen int
	// Gateway, Nameservers, Search and Domain (for the FQDN) are optional.
	Gateway     netip.Addr
	Nameservers []netip.Addr
	Search      []string
	Domain      string
	// InterfaceMatch defaults to DefaultInterfaceMatch.
	InterfaceMatch string
	// SSHAuthorizedKeys are public keys for the default user.
	SSHAuthorizedKeys []string
	// TLSCertificate and TLSKey (PEM) are the certificate and key NGINX
	// serves; they go to the site's tls.certificate and tls.key paths on a
	// web host and are left out of any other host's seed. Both or neither.
	TLSCertificate []byte
	TLSKey         PrivateKey
	// AppSecrets are the application's secrets; they go to web hosts only.
	AppSecrets AppSecrets
	// CephSecret is the key of the instance's Ceph client; it goes to web
	// hosts only, where the instance's storage names a Ceph client.
	CephSecret CephSecret
}

// ForHost returns the seed of host hostName of instance in of site s; a
// host that is not the instance's is a *site.NotFoundError.
func ForHost(s *site.Site, in site.Instance, hostName string, sec Secrets, o Options) (Config, error) {
	h, err := in.Host(hostName)
	if err != nil {
		return Config{}, err
	}
	addr, err := netip.ParseAddr(h.Address)
	if err != nil {
		return Config{}, fmt.Errorf("host %s: address %q: %w", h.Name, h.Address, err)
	}
	o, err = withNetwork(o, in.Network, addr)
	if err != nil {
		return Config{}, fmt.Errorf("instance %s: %w", in.Name, err)
	}
	bits := o.PrefixLen
	prefix, err := addr.Prefix(bits)
	if err != nil {
		return Config{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	c := Config{
		InstanceID: fmt.Sprintf("%s-%s-%s", s.Name, in.Name, h.Name),
		Hostname:   h.Name, Address: netip.PrefixFrom(addr, prefix.Bits()),
		Gateway: o.Gateway, Nameservers: o.Nameservers, Search: o.Search,
		InterfaceMatch: o.InterfaceMatch, SSHAuthorizedKeys: o.SSHAuthorizedKeys, Secrets: sec,
	}
	if o.Domain != "" {
		c.FQDN = h.Name + "." + strings.TrimSuffix(o.Domain, ".")
	}
	if c.TLS, err = tlsFor(s, h, o); err != nil {
		return Config{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	if h.Has(site.RoleWeb) {
		c.AppSecrets = o.AppSecrets
		if p := s.StorageFor(in).CephSecretFile(); p != "" && len(o.CephSecret) > 0 {
			c.CephSecret, c.CephSecretPath = o.CephSecret, p
		}
	}
	return c, nil
}

// tlsFor returns the TLS files of host h: the options' certificate and key
// at the site's paths on a web host, none on any other.
func tlsFor(s *site.Site, h site.Host, o Options) (*TLS, error) {
	if (len(o.TLSCertificate) == 0) != (len(o.TLSKey) == 0) {
		return nil, errors.New("a TLS certificate needs its key and a key its certificate")
	}
	if len(o.TLSCertificate) == 0 || !h.Has(site.RoleWeb) {
		return nil, nil
	}
	if _, err := CheckTLS(o.TLSCertificate, o.TLSKey); err != nil {
		return nil, err
	}
	return &TLS{
		CertificatePath: s.TLS.Certificate, KeyPath: s.TLS.Key,
		Certificate: o.TLSCertificate, Key: o.TLSKey,
	}, nil
}

// withNetwork fills the options' zero fields from the site's network.
func withNetwork(o Options, n site.Network, addr netip.Addr) (Options, error) {
	if o.PrefixLen == 0 {
		o.PrefixLen = n.PrefixFor(addr)
	}
	if !o.Gateway.IsValid() && n.Gateway != "" {
		gw, err := netip.ParseAddr(n.Gateway)
		if err != nil {
			return o, fmt.Errorf("network gateway %q: %w", n.Gateway, err)
		}
		o.Gateway = gw
	}
	if len(o.Nameservers) == 0 {
		for _, d := range n.DNS {
			a, err := netip.ParseAddr(d)
			if err != nil {
				return o, fmt.Errorf("network dns %q: %w", d, err)
			}
			o.Nameservers = append(o.Nameservers, a)
		}
	}
	if len(o.Search) == 0 {
		o.Search = n.Search
	}
	if o.Domain == "" {
		o.Domain = n.Domain
	}
	return o, nil
}

// metaData is NoCloud's meta-data.
type metaData struct {
	InstanceID    string `yaml:"instance-id"`
	LocalHostname string `yaml:"local-hostname"`
}

// MetaData returns the meta-data file.
func (c Config) MetaData() ([]byte, error) {
	return yaml.Marshal(metaData{InstanceID: c.InstanceID, LocalHostname: c.Hostname})
}

// userData is the #cloud-config the seed carries.
type userData struct {
	Hostname          string      `yaml:"hostname"`
	FQDN              string      `yaml:"fqdn,omitempty"`
	PreserveHostname  bool        `yaml:"preserve_hostname"`
	ManageEtcHosts    bool        `yaml:"manage_etc_hosts"`
	Users             []string    `yaml:"users"`
	SSHPwauth         bool        `yaml:"ssh_pwauth"`
	DisableRoot       bool        `yaml:"disable_root"`
	SSHAuthorizedKeys []string    `yaml:"ssh_authorized_keys,omitempty"`
	WriteFiles        []writeFile `yaml:"write_files,omitempty"`
	RunCmd            [][]string  `yaml:"runcmd"`
}

// writeFile is one entry of write_files. None is deferred: see UserData.
type writeFile struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Content     string `yaml:"content"`
	Encoding    string `yaml:"encoding,omitempty"`
}

// Owner and mode of the secrets file.
const (
	SecretsOwner = "root:invenio"
	SecretsMode  = "0640"
)

// DisabledPath is the file that keeps cloud-init from running: the seed's
// last step writes it, so the seed is applied once.
const DisabledPath = "/etc/cloud/cloud-init.disabled"

// UserData returns the user-data file: host name, SSH keys for the default
// user, no passwords, the TLS certificate and key (web hosts) and the
// secrets file.
//
// A seed is applied once: its last step, in cloud-init's final stage,
// writes DisabledPath, so later boots neither read the seed again (it holds
// secrets; the host's files are the truth from then on) nor spend time in
// cloud-init's Python stages. Removing the file runs cloud-init again.
//
// The files are written by cloud-init's write_files module in its network
// stage (cloud-init.service, ordered before sysinit.target), so they exist
// before any unit of the roles starts: NGINX finds its certificate and the
// application, provisioning and Redis their secrets on first boot. They
// are not deferred to the final stage, which runs after multi-user.target,
// when those units have already started and failed. The image must
// therefore have the invenio group before cloud-init runs, as role images
// do: invenio-common creates it (systemd-sysusers) when the image is baked.
func (c Config) UserData() ([]byte, error) {
	u := userData{
		Hostname: c.Hostname, FQDN: c.FQDN, ManageEtcHosts: true,
		Users: []string{"default"}, DisableRoot: true, SSHAuthorizedKeys: c.SSHAuthorizedKeys,
		RunCmd: [][]string{{"sh", "-c", "echo 'Written by the invenio-infra seed at the end of the first boot: the seed is applied once. Remove this file to run cloud-init again.' >" + DisabledPath}},
	}
	u.WriteFiles = c.TLS.tlsFiles()
	if c.Secrets.Len() > 0 {
		u.WriteFiles = append(u.WriteFiles, writeFile{
			Path: SecretsPath, Owner: SecretsOwner, Permissions: SecretsMode,
			Content: string(c.Secrets.Env()),
		})
	}
	u.WriteFiles = append(u.WriteFiles, c.appFiles()...)
	return marshal("#cloud-config\n# Made by invenio-infra for "+c.InstanceID+". It holds secrets: keep it private.\n", u)
}

// appFiles are the application secrets file, base64-encoded in user-data
// (its values may hold any byte but NUL and newline, which YAML strings do
// not), and the Ceph client's secret file.
func (c Config) appFiles() []writeFile {
	var out []writeFile
	if c.AppSecrets.Len() > 0 {
		out = append(out, writeFile{
			Path: site.AppSecretsPath, Owner: SecretsOwner, Permissions: SecretsMode,
			Content: base64.StdEncoding.EncodeToString(c.AppSecrets.File()), Encoding: "b64",
		})
	}
	if len(c.CephSecret) > 0 {
		out = append(out, writeFile{
			Path: c.CephSecretPath, Owner: "root:root", Permissions: "0600", Content: string(c.CephSecret) + "\n",
		})
	}
	return out
}

// networkConfig is network-config version 2.
type networkConfig struct {
	Network struct {
		Version   int                 `yaml:"version"`
		Ethernets map[string]ethernet `yaml:"ethernets"`
	} `yaml:"network"`
}

type ethernet struct {
	Match       map[string]string `yaml:"match"`
	DHCP4       bool              `yaml:"dhcp4"`
	DHCP6       bool              `yaml:"dhcp6"`
	AcceptRA    bool              `yaml:"accept-ra"`
	Addresses   []string          `yaml:"addresses"`
	Routes      []route           `yaml:"routes,omitempty"`
	Nameservers *nameservers      `yaml:"nameservers,omitempty"`
}

type route struct {
	To  string `yaml:"to"`
	Via string `yaml:"via"`
}

type nameservers struct {
	Addresses []string `yaml:"addresses,omitempty"`
	Search    []string `yaml:"search,omitempty"`
}

// NetworkConfig returns the network-config file: the host's static address
// on the interface that InterfaceMatch selects, no DHCP and no IPv6 router
// advertisements accepted. The last keeps a rogue advertisement on the
// link from giving the host addresses and routes the site never named, and
// it keeps systemd-networkd-wait-online, which cloud-init's network stage
// and so every role's unit wait for, from waiting on every boot for an
// advertisement that a statically addressed network never sends (systemd's
// solicitation gives up after three tries, four seconds apart: 12-13 s of
// each boot). Interface globs need cloud-init's netplan renderer (see
// ImageCloudConfig).
func (c Config) NetworkConfig() ([]byte, error) {
	if !c.Address.IsValid() {
		return nil, errors.New("seed: no address")
	}
	match := c.InterfaceMatch
	if match == "" {
		match = DefaultInterfaceMatch
	}
	e := ethernet{Match: map[string]string{"name": match}, Addresses: []string{c.Address.String()}}
	if c.Gateway.IsValid() {
		e.Routes = []route{{To: "default", Via: c.Gateway.String()}}
	}
	if len(c.Nameservers) > 0 || len(c.Search) > 0 {
		e.Nameservers = &nameservers{Search: c.Search}
		for _, a := range c.Nameservers {
			e.Nameservers.Addresses = append(e.Nameservers.Addresses, a.String())
		}
	}
	var n networkConfig
	n.Network.Version = 2
	n.Network.Ethernets = map[string]ethernet{"internal": e}
	return marshal("# Made by invenio-infra for "+c.InstanceID+".\n", n)
}

// Files returns the seed's files by name.
func (c Config) Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	for name, f := range map[string]func() ([]byte, error){
		"meta-data": c.MetaData, "user-data": c.UserData, "network-config": c.NetworkConfig,
	} {
		b, err := f()
		if err != nil {
			return nil, fmt.Errorf("seed: %s: %w", name, err)
		}
		files[name] = b
	}
	return files, nil
}

func marshal(header string, v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// ImageCloudConfig is the /etc/cloud/cloud.cfg.d/ snippet a role image
// needs for these seeds: look only for a NoCloud seed (no waiting for
// cloud metadata services that a VM on the internal network cannot reach),
// and render network-config with netplan, the renderer that honours
// interface name globs (eni and networkd take the entry's key as the name).
//
// It also sets the locale to C.UTF-8, which every Debian system has
// (cloud-init's default, en_US.UTF-8, needs generated locales, or its
// locale module fails), makes only Ed25519 and ECDSA host keys (no RSA
// key: bake.HostKeyTypes, which sshd serves), and runs only the
// modules the seeds need, in two of cloud-init's three module stages: the
// config stage's two modules (set-passwords, runcmd, which only writes the
// script that scripts-user runs) run first in the final stage, which
// starts as late, so the image masks cloud-config.service
// (bake.MaskedUnits) instead of spending a Python start-up of cloud-init
// on an empty stage.
const ImageCloudConfig = `# Made by invenio-infra: the image gets its seed from a NoCloud disk.
datasource_list: [NoCloud, None]
system_info:
  network:
    renderers: [netplan]
locale: C.UTF-8
ssh_genkeytypes: [ed25519, ecdsa]
# Only the modules these seeds use: each of the others costs boot time (a
# minute and more under emulation) and some would change the image (apt
# sources, grub's debconf, locales).
cloud_init_modules: [seed_random, bootcmd, write-files, growpart, resizefs, set_hostname, update_hostname, update_etc_hosts, users-groups, ssh]
# The config stage is empty and its unit masked: its modules run first in
# the final stage.
cloud_config_modules: []
cloud_final_modules: [set-passwords, runcmd, write-files-deferred, scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, ssh-authkey-fingerprints, keys-to-console, final-message]
`
