package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Seed says which host's seed WriteSeed writes and from which files. Its
// fields are what the command line's flags give, unparsed.
type Seed struct {
	Instance, Host string
	// Secrets is the instance's secrets file.
	Secrets string
	// Out is the seed directory.
	Out string
	// SSHKeys are files of SSH public keys.
	SSHKeys []string
	// PrefixLen, Gateway, Nameservers, Search, Domain and Interface
	// configure the host's network (see seed.Options).
	PrefixLen   int
	Gateway     string
	Nameservers []string
	Search      []string
	Domain      string
	Interface   string
	// ISO also writes an ISO 9660 seed.
	ISO bool
	// TLSCert and TLSKey are the PEM files NGINX serves on a web host.
	TLSCert, TLSKey string
	// AppSecrets is the application secrets file and CephSecret the file
	// of the instance's Ceph client key, both for web hosts.
	AppSecrets, CephSecret string
}

// MaxInputFile bounds the small files a seed reads: keys, certificates,
// secrets.
const MaxInputFile = 1 << 20

// ReadInput reads a small input file that a flag names (what, e.g.
// "--tls-cert"): a regular file of at most MaxInputFile bytes. A missing,
// unreadable, special or oversized file is a *site.InputError.
func ReadInput(what, path string) ([]byte, error) {
	data, err := safefile.Read(path, MaxInputFile)
	switch {
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, site.BadInput("%s: %w", what, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return data, nil
}

// WriteSeed checks the inputs, then writes the seed directory of a host
// and returns its configuration. Bad input is a *site.InputError or a
// *site.NotFoundError.
func WriteSeed(ctx context.Context, s *site.Site, o Seed) (seed.Config, error) {
	in, err := s.FindInstance(o.Instance)
	if err != nil {
		return seed.Config{}, err
	}
	c, err := o.config(s, in)
	if err != nil {
		return c, err
	}
	files, err := c.Files()
	if err != nil {
		return c, err
	}
	epoch, err := SourceDateEpoch()
	if err != nil {
		return c, &site.InputError{Err: err}
	}
	err = atomicdir.Write(o.Out, func(dir string) error { return writeSeed(ctx, dir, files, epoch, o.ISO) })
	if err != nil {
		return c, fmt.Errorf("writing seed into %s: %w", o.Out, err)
	}
	return c, nil
}

// config turns the options and files into the host's seed.
func (o Seed) config(s *site.Site, in site.Instance) (seed.Config, error) {
	sec, err := ReadSecrets(o.Secrets)
	if err != nil {
		return seed.Config{}, err
	}
	opts, err := o.options()
	if err != nil {
		return seed.Config{}, err
	}
	c, err := seed.ForHost(s, in, o.Host, sec, opts)
	var nf *site.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		err = &site.InputError{Err: err} // a bad prefix length or TLS pair
	}
	return c, err
}

// readTLS reads TLSCert and TLSKey and checks that they form a pair.
// Errors name the files, never the key's content.
func (o Seed) readTLS(opts *seed.Options) error {
	if o.TLSCert == "" {
		return nil
	}
	cert, err := ReadInput("--tls-cert", o.TLSCert)
	if err != nil {
		return err
	}
	key, err := ReadInput("--tls-key", o.TLSKey)
	if err != nil {
		return err
	}
	if _, err := seed.CheckTLS(cert, key); err != nil {
		return site.BadInput("--tls-cert %s and --tls-key %s: %w", o.TLSCert, o.TLSKey, err)
	}
	opts.TLSCertificate, opts.TLSKey = cert, key
	return nil
}

// options parses the network options and reads the SSH key files.
func (o Seed) options() (seed.Options, error) {
	opts := seed.Options{PrefixLen: o.PrefixLen, Search: o.Search, Domain: o.Domain, InterfaceMatch: o.Interface}
	var err error
	if o.Gateway != "" {
		if opts.Gateway, err = netip.ParseAddr(o.Gateway); err != nil {
			return opts, site.BadInput("--gateway: %w", err)
		}
	}
	for _, d := range o.Nameservers {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return opts, site.BadInput("--dns: %w", err)
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
	if err := o.readAppSecrets(&opts); err != nil {
		return opts, err
	}
	return opts, o.readTLS(&opts)
}

// readAppSecrets reads AppSecrets and CephSecret. Errors name the files
// and lines, never a value.
func (o Seed) readAppSecrets(opts *seed.Options) error {
	if o.AppSecrets != "" {
		data, err := ReadInput("--app-secrets", o.AppSecrets)
		if err != nil {
			return err
		}
		if opts.AppSecrets, err = seed.ParseAppSecrets(data); err != nil {
			return site.BadInput("--app-secrets %s: %s", o.AppSecrets, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if o.CephSecret != "" {
		data, err := ReadInput("--ceph-secret", o.CephSecret)
		if err != nil {
			return err
		}
		if opts.CephSecret, err = seed.CheckCephSecret(data); err != nil {
			return site.BadInput("--ceph-secret %s %w", o.CephSecret, err)
		}
	}
	return nil
}

// ReadSecrets reads and checks the secrets file: every key present.
func ReadSecrets(path string) (seed.Secrets, error) {
	data, err := ReadInput("secrets file", path)
	if ie := (*site.InputError)(nil); errors.As(err, &ie) && errors.Is(ie.Err, fs.ErrNotExist) {
		return seed.Secrets{}, site.BadInput("%w (make one with `invenio-infra secrets init`)", ie.Err)
	}
	if err != nil {
		return seed.Secrets{}, err
	}
	sec, err := seed.ParseSecrets(data, roles.SecretKeys())
	if err != nil {
		return sec, site.BadInput("secrets file %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return sec, nil
}

// sshKeyPrefixes are the key types an authorized_keys line may start with.
var sshKeyPrefixes = []string{"ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-"}

// readSSHKeys returns the public keys in an authorized_keys-style file and
// refuses anything else, a private key above all.
func readSSHKeys(path string) ([]string, error) {
	data, err := ReadInput("--ssh-key", path)
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(data), "PRIVATE KEY") {
		return nil, site.BadInput("--ssh-key %s is a private key; give the public key (.pub)", path)
	}
	var keys []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !hasAnyPrefix(line, sshKeyPrefixes) || len(strings.Fields(line)) < 2 {
			return nil, site.BadInput("--ssh-key %s:%d: not an SSH public key (want e.g. \"ssh-ed25519 AAAA… comment\")", path, i+1)
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, site.BadInput("--ssh-key %s holds no public key", path)
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
func writeSeed(ctx context.Context, dir string, files map[string][]byte, epoch time.Time, iso bool) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if _, err := seed.WriteFiles(dir, files, epoch); err != nil {
		return err
	}
	if err := seed.BuildFAT(ctx, files, filepath.Join(dir, "seed.img"), epoch); err != nil {
		return err
	}
	if iso {
		return seed.BuildISO(ctx, files, filepath.Join(dir, "seed.iso"), epoch)
	}
	return nil
}

// SourceDateEpoch returns SOURCE_DATE_EPOCH when set, else the current time.
func SourceDateEpoch() (time.Time, error) {
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

// InitSecrets generates every secret an instance's hosts need and writes
// them into the new file out (mode 0600), which must not exist: a new
// SECRET_KEY makes encrypted data unreadable. An unknown instance or an
// existing file is bad input.
func InitSecrets(s *site.Site, instance, out string) (seed.Secrets, error) {
	if _, err := s.FindInstance(instance); err != nil {
		return seed.Secrets{}, err
	}
	sec, err := seed.GenerateSecrets(roles.SecretKeys())
	if err != nil {
		return sec, err
	}
	err = seed.WriteNewFile(out, sec)
	if errors.Is(err, os.ErrExist) {
		return sec, site.BadInput("%s exists; refusing to replace secrets (a new SECRET_KEY makes encrypted data unreadable)", out)
	}
	if err != nil {
		return sec, fmt.Errorf("writing secrets file: %w", err)
	}
	return sec, nil
}
