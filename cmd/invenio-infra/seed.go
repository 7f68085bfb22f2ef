package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// seedOptions are the flags of seed.
type seedOptions struct {
	Instance    string
	Host        string
	Secrets     string
	Out         string
	SSHKeys     []string
	PrefixLen   int
	Gateway     string
	Nameservers []string
	Search      []string
	Domain      string
	Interface   string
	ISO         bool
	TLSCert     string
	TLSKey      string
}

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
	return cmd
}

// run checks the inputs, then writes the seed directory.
func (o *seedOptions) run(cmd *cobra.Command, g *globalOptions, s *site.Site) error {
	ins, err := selectInstances(s, []string{o.Instance})
	if err != nil {
		return err
	}
	c, err := o.config(s, ins[0])
	if err != nil {
		return err
	}
	if o.TLSCert != "" && c.TLS == nil {
		g.progress(cmd, "note: %s has no web role, so its seed leaves out the TLS certificate and key", c.Hostname)
	}
	files, err := c.Files()
	if err != nil {
		return err
	}
	epoch, err := sourceDateEpoch()
	if err != nil {
		return usageError{err}
	}
	err = atomicdir.Write(o.Out, func(dir string) error { return writeSeed(cmd, dir, files, epoch, o.ISO) })
	if err != nil {
		return fmt.Errorf("writing seed into %s: %w", o.Out, err)
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

// config turns the flags and files into the host's seed.
func (o *seedOptions) config(s *site.Site, in site.Instance) (seed.Config, error) {
	sec, err := readSecrets(o.Secrets)
	if err != nil {
		return seed.Config{}, err
	}
	opts, err := o.options()
	if err != nil {
		return seed.Config{}, usageError{err}
	}
	c, err := seed.ForHost(s, in, o.Host, sec, opts)
	if err != nil {
		return c, usageError{err} // an unknown host, a bad --prefix-len or TLS pair
	}
	return c, nil
}

// readTLS reads --tls-cert and --tls-key and checks that they form a pair.
// Errors name the files, never the key's content.
func (o *seedOptions) readTLS(opts *seed.Options) error {
	if o.TLSCert == "" {
		return nil
	}
	cert, err := readInput("--tls-cert", o.TLSCert)
	if err != nil {
		return err
	}
	key, err := readInput("--tls-key", o.TLSKey)
	if err != nil {
		return err
	}
	if _, err := seed.CheckTLS(cert, key); err != nil {
		return fmt.Errorf("--tls-cert %s and --tls-key %s: %w", o.TLSCert, o.TLSKey, err)
	}
	opts.TLSCertificate, opts.TLSKey = cert, key
	return nil
}

// options parses the network flags and reads the SSH key files.
func (o *seedOptions) options() (seed.Options, error) {
	opts := seed.Options{PrefixLen: o.PrefixLen, Search: o.Search, Domain: o.Domain, InterfaceMatch: o.Interface}
	var err error
	if o.Gateway != "" {
		if opts.Gateway, err = netip.ParseAddr(o.Gateway); err != nil {
			return opts, fmt.Errorf("--gateway: %w", err)
		}
	}
	for _, d := range o.Nameservers {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return opts, fmt.Errorf("--dns: %w", err)
		}
		opts.Nameservers = append(opts.Nameservers, a)
	}
	for _, f := range o.SSHKeys {
		keys, err := readSSHKeys(f)
		if err != nil {
			return opts, err
		}
		opts.SSHAuthorizedKeys = append(opts.SSHAuthorizedKeys, keys...)
	}
	return opts, o.readTLS(&opts)
}

// readSecrets reads and checks the secrets file: every key present.
func readSecrets(path string) (seed.Secrets, error) {
	data, err := readInput("secrets file", path)
	if ue := (usageError{}); errors.As(err, &ue) && errors.Is(ue.error, fs.ErrNotExist) {
		return seed.Secrets{}, usageError{fmt.Errorf("%w (make one with `invenio-infra secrets init`)", ue.error)}
	}
	if err != nil {
		return seed.Secrets{}, err
	}
	sec, err := seed.ParseSecrets(data, roles.SecretKeys())
	if err != nil {
		return sec, usageError{fmt.Errorf("secrets file %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))}
	}
	return sec, nil
}

// sshKeyPrefixes are the key types an authorized_keys line may start with.
var sshKeyPrefixes = []string{"ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-"}

// readSSHKeys returns the public keys in an authorized_keys-style file and
// refuses anything else, a private key above all.
func readSSHKeys(path string) ([]string, error) {
	data, err := readInput("--ssh-key", path)
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(data), "PRIVATE KEY") {
		return nil, fmt.Errorf("--ssh-key %s is a private key; give the public key (.pub)", path)
	}
	var keys []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !hasAnyPrefix(line, sshKeyPrefixes) || len(strings.Fields(line)) < 2 {
			return nil, fmt.Errorf("--ssh-key %s:%d: not an SSH public key (want e.g. \"ssh-ed25519 AAAA… comment\")", path, i+1)
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("--ssh-key %s holds no public key", path)
	}
	return keys, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// writeSeed writes the seed files and images into dir, private to the owner.
func writeSeed(cmd *cobra.Command, dir string, files map[string][]byte, epoch time.Time, iso bool) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if _, err := seed.WriteFiles(dir, files, epoch); err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := seed.BuildFAT(ctx, files, filepath.Join(dir, "seed.img"), epoch); err != nil {
		return err
	}
	if iso {
		return seed.BuildISO(ctx, files, filepath.Join(dir, "seed.iso"), epoch)
	}
	return nil
}

// sourceDateEpoch returns SOURCE_DATE_EPOCH when set, else the current time.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Now(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", v)
	}
	return time.Unix(n, 0), nil
}
