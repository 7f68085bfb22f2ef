package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// seedOptions are the flags of seed.
type seedOptions struct{ release.Seed }

func newSeed(g *globalOptions) *cobra.Command {
	o := &seedOptions{}
	cmd := &cobra.Command{
		Use:   "seed --instance NAME --host NAME --secrets FILE --out DIR",
		Short: "Write a host's cloud-init NoCloud seed (FAT image labelled CIDATA)",
		Long: "seed writes DIR/seed.img, a FAT image labelled CIDATA to attach to the host's\n" +
			"VM as a second disk, and the files in it (meta-data, user-data,\n" +
			"network-config): host name, the host's static address, SSH keys for the\n" +
			"default user, no passwords, and the secrets file as /etc/invenio/secrets.env\n" +
			"(0640 root:invenio). A web host also gets the TLS certificate and key NGINX\n" +
			"serves (--tls-cert, --tls-key) at the site's tls.certificate (0644) and\n" +
			"tls.key (0600 root:root) paths; other hosts' seeds leave them out. The files\n" +
			"are written before the roles' services start on first boot. user-data holds\n" +
			"the secrets: DIR and its files are private (0700/0600); detach the seed once\n" +
			"the host is up. DIR is written next to itself and swapped in.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Instance == "" || o.Host == "" || o.Secrets == "" || o.Out == "" {
				return usageError{errors.New("--instance, --host, --secrets and --out are required")}
			}
			if (o.TLSCert == "") != (o.TLSKey == "") {
				return usageError{errors.New("--tls-cert and --tls-key go together: give both or neither")}
			}
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			return o.run(cmd, g, s)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Instance, "instance", "i", "", "instance of the host (required)")
	f.StringVar(&o.Host, "host", "", "host name as in the site file (required)")
	f.StringVar(&o.Secrets, "secrets", "", "the instance's secrets file, from `secrets init` (required)")
	f.StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	f.StringArrayVar(&o.SSHKeys, "ssh-key", nil, "file of SSH public keys (authorized_keys format) for the default user; repeatable")
	f.IntVar(&o.PrefixLen, "prefix-len", 0, "prefix length of the internal network (default: 24 for IPv4, 64 for IPv6)")
	f.StringVar(&o.Gateway, "gateway", "", "default gateway (default: none)")
	f.StringArrayVar(&o.Nameservers, "dns", nil, "DNS server address; repeatable")
	f.StringArrayVar(&o.Search, "search", nil, "DNS search domain; repeatable")
	f.StringVar(&o.Domain, "domain", "", "domain of the host's FQDN (default: none)")
	f.StringVar(&o.Interface, "interface", seed.DefaultInterfaceMatch, "name glob of the interface that gets the address")
	f.BoolVar(&o.ISO, "iso", false, "also write DIR/seed.iso (ISO 9660, volume ID cidata)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "PEM certificate chain NGINX serves on a web host (with --tls-key)")
	f.StringVar(&o.TLSKey, "tls-key", "", "PEM private key of --tls-cert; it goes into the seed only, never into output or logs")
	f.StringVar(&o.AppSecrets, "app-secrets", "", "application secrets file (KEY='VALUE' lines) for a web host's "+site.AppSecretsPath)
	f.StringVar(&o.CephSecret, "ceph-secret", "", "key of the instance's Ceph client (`ceph auth get-key`) for a web host's secret file")
	return cmd
}

// run writes the seed directory.
func (o *seedOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	c, err := release.WriteSeed(cmd.Context(), s, o.Seed)
	if err != nil {
		return err
	}
	if o.TLSCert != "" && c.TLS == nil {
		g.progress(cmd, "note: %s has no web role, so its seed leaves out the TLS certificate and key", c.Hostname)
	}
	if missing := c.AppSecrets.Missing(s.Application.Secrets); c.AppSecrets.Len() > 0 && len(missing) > 0 {
		g.progress(cmd, "note: the application secrets lack %s, which the site names", strings.Join(missing, ", "))
	}
	g.progress(cmd, "wrote the seed of %s (instance %s, %s, %d SSH key(s), %d secrets%s) into %s",
		c.Hostname, o.Instance, c.Address, len(c.SSHAuthorizedKeys), c.Secrets.Len(), tlsNote(c), o.Out)
	return nil
}

// tlsNote names the TLS files a seed writes, if any.
func tlsNote(c seed.Config) string {
	if c.TLS == nil {
		return ""
	}
	return ", TLS certificate " + c.TLS.CertificatePath + " and key " + c.TLS.KeyPath
}
