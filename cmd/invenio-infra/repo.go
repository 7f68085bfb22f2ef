package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/safefile"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/aptrepo"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging/signing"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// throwawayLifetime is how long a throwaway key stays valid after the run.
const throwawayLifetime = 30 * 24 * time.Hour

// Names of the files the repository's root holds besides dists/ and pool/.
const (
	publicKeyFile = roles.KeyringPackage + ".asc"
	keyringFile   = roles.KeyringPackage + ".gpg"
)

// bootstrapFile is the stable name, at the repository's root, of an
// instance's keyring package: what admins download to add the repository.
func bootstrapFile(instance string) string {
	return roles.KeyringPackage + "-" + instance + ".deb"
}

// repoOptions are the flags of repo.
type repoOptions struct {
	Packages   string
	Out        string
	SigningKey string
	Build      buildOptions
}

func newRepo(g *globalOptions) *cobra.Command {
	o := &repoOptions{}
	cmd := &cobra.Command{
		Use:   "repo --packages DIR --out REPO [--signing-key FILE]",
		Short: "Publish DIR/<instance>/*.deb as a signed apt repository, one suite per instance",
		Long: "repo publishes the packages that `packages` wrote into DIR as an apt repository\n" +
			"in REPO: one suite per instance (its codename is the instance's name),\n" +
			"component main, Packages indexes (plain, gzip, xz) with by-hash copies, a\n" +
			"Release with SHA256 sums, InRelease and Release.gpg, and a pool.\n\n" +
			"Each suite also gets invenio-archive-keyring, built here: the public key in\n" +
			"/usr/share/keyrings/ and the instance's apt source. REPO's root holds the\n" +
			"public key (" + publicKeyFile + ", " + keyringFile + ") and each instance's keyring\n" +
			"package as " + bootstrapFile("INSTANCE") + ", for an admin's first install.\n\n" +
			"The key is read from --signing-key, else from $" + signing.EnvKey + " (an\n" +
			"armored private key or the path of a file holding one). Without either, a\n" +
			"throwaway key signs, with a warning. REPO is written next to itself and\n" +
			"swapped in, so a failed run leaves the previous repository untouched.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Packages == "" || o.Out == "" {
				return usageError{errors.New("--packages DIR and --out REPO are required")}
			}
			return o.run(cmd, g)
		},
	}
	cmd.Flags().StringVarP(&o.Packages, "packages", "p", "", "directory of packages, DIR/<instance>/*.deb, as `packages` writes it (required)")
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "repository directory to write (required)")
	cmd.Flags().StringVarP(&o.SigningKey, "signing-key", "k", "", "armored private key file (default: $"+signing.EnvKey+", else a throwaway key)")
	o.Build.register(cmd)
	return cmd
}

// run publishes the repository.
func (o *repoOptions) run(cmd *cobra.Command, g *globalOptions) error {
	s, err := g.loadSite()
	if err != nil {
		return err
	}
	ins, err := packageInstances(s, o.Packages)
	if err != nil {
		return err
	}
	b, err := o.Build.resolve()
	if err != nil {
		return err
	}
	b.Context = cmd.Context()
	key, err := o.key(cmd, b.Epoch)
	if err != nil {
		return err
	}
	log := g.logger(cmd)
	start := time.Now()
	log.Info("publishing repository", "suites", len(ins), "packages", o.Packages, "out", o.Out,
		"key", key.Fingerprint(), "source_date_epoch", b.Epoch.Unix())
	res, err := publish(o, s, ins, key, b)
	if err != nil {
		return err
	}
	for _, sr := range res.Suites {
		log.Info("published suite", "suite", sr.Codename, "packages", len(sr.Packages))
	}
	log.Info("published repository", "out", o.Out, "seconds", time.Since(start).Seconds())
	return nil
}

// key returns the signing key: the flag's file, the environment's, or a
// throwaway one with a warning that --quiet does not silence.
func (o *repoOptions) key(cmd *cobra.Command, epoch time.Time) (*signing.Key, error) {
	if o.SigningKey != "" {
		k, err := signing.LoadFile(o.SigningKey)
		if err != nil {
			return nil, usageError{fmt.Errorf("--signing-key: %w", err)}
		}
		return k, nil
	}
	if k, ok, err := signing.FromEnv(); err != nil {
		return nil, usageError{err}
	} else if ok {
		return k, nil
	}
	k, err := throwawayKey(epoch)
	if err != nil {
		return nil, err
	}
	warnThrowaway(cmd.ErrOrStderr(), k, o.Out)
	return k, nil
}

// throwawayKey makes a key dated epoch (so it can sign at epoch) that
// expires throwawayLifetime from now.
func throwawayKey(epoch time.Time) (*signing.Key, error) {
	id := signing.UserID{Name: "invenio-infra throwaway repository key, do not trust"}
	return signing.Generate(id, epoch, time.Until(time.Now().Add(throwawayLifetime))+time.Since(epoch))
}

func warnThrowaway(w io.Writer, k *signing.Key, out string) {
	fmt.Fprintf(w, "invenio-infra: WARNING: no signing key given (--signing-key or $%s).\n"+
		"invenio-infra: WARNING: %s is signed with a THROWAWAY key %s that exists only for this run\n"+
		"invenio-infra: WARNING: and expires on %s; its public part is %s.\n"+
		"invenio-infra: WARNING: Hosts that trust it cannot verify any later publish. Use it for tests only;\n"+
		"invenio-infra: WARNING: make a real key with `invenio-infra key generate`.\n",
		signing.EnvKey, out, k.Fingerprint(), k.Expires().Format(time.DateOnly), filepath.Join(out, publicKeyFile))
}

// packageInstances returns the site's instances that DIR has packages
// for, in the site's order. Every subdirectory of DIR must be one.
func packageInstances(s *site.Site, dir string) ([]site.Instance, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, usageError{fmt.Errorf("--packages: %w", err)}
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			return nil, usageError{fmt.Errorf("--packages %s: %s is not an instance directory; want DIR/<instance>/*.deb as `packages` writes it", dir, e.Name())}
		}
		if _, ok := s.Instance(e.Name()); !ok {
			return nil, usageError{fmt.Errorf("--packages %s: %s is not an instance of site %q (instances: %s)", dir, e.Name(), s.Name, instanceNames(s))}
		}
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return nil, usageError{fmt.Errorf("--packages %s holds no instance directories; run `invenio-infra packages --out %s` first", dir, dir)}
	}
	var out []site.Instance
	for _, in := range s.Instances {
		if slices.Contains(names, in.Name) {
			out = append(out, in)
		}
	}
	return out, nil
}

func instanceNames(s *site.Site) string {
	var n []string
	for _, in := range s.Instances {
		n = append(n, in.Name)
	}
	return strings.Join(n, ", ")
}

// publish builds each instance's keyring package next to its role
// packages' list and publishes everything.
func publish(o *repoOptions, s *site.Site, ins []site.Instance, key *signing.Key, b packaging.BuildOptions) (aptrepo.Result, error) {
	tmp, remove, err := tempfiles.MkdirTemp("", "invenio-keyring-")
	if err != nil {
		return aptrepo.Result{}, err
	}
	defer remove()
	opts := aptrepo.Options{
		Origin:  s.Name,
		Label:   s.Name + " InvenioRDM",
		Date:    b.Epoch,
		Signer:  key,
		Context: b.Context,
		Files: []aptrepo.File{
			{Name: publicKeyFile, Data: key.ArmoredPublic()},
			{Name: keyringFile, Data: key.Keyring()},
		},
	}
	var suites []aptrepo.Suite
	for _, in := range ins {
		debs, err := instanceDebs(filepath.Join(o.Packages, in.Name))
		if err != nil {
			return aptrepo.Result{}, err
		}
		kr, data, err := buildKeyring(tmp, s, in, key, b)
		if err != nil {
			return aptrepo.Result{}, err
		}
		opts.Files = append(opts.Files, aptrepo.File{Name: bootstrapFile(in.Name), Data: data})
		suites = append(suites, aptrepo.Suite{
			Codename:    in.Name,
			Description: fmt.Sprintf("InvenioRDM packages of site %s, instance %s (%s)", s.Name, in.Name, in.URL),
			Debs:        append(debs, kr),
		})
	}
	return aptrepo.Publish(o.Out, suites, opts)
}

// instanceDebs lists an instance directory's packages; the keyring
// package is built here, so the directory must not have one.
func instanceDebs(dir string) ([]string, error) {
	debs, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil {
		return nil, err
	}
	for _, d := range debs {
		if err := safefile.CheckRegular(d); err != nil {
			return nil, usageError{fmt.Errorf("--packages: %w", err)}
		}
		if strings.HasPrefix(filepath.Base(d), roles.KeyringPackage+"_") {
			return nil, usageError{fmt.Errorf("%s: the keyring package is built by repo from the signing key; remove it from --packages", d)}
		}
	}
	if len(debs) == 0 {
		return nil, usageError{fmt.Errorf("%s holds no .deb files", dir)}
	}
	return debs, nil
}

// buildKeyring writes an instance's keyring package into dir/<instance>/
// and returns its path and bytes.
func buildKeyring(dir string, s *site.Site, in site.Instance, key *signing.Key, b packaging.BuildOptions) (string, []byte, error) {
	spec := roles.Keyring(s, in, key.Keyring())
	p := filepath.Join(dir, in.Name, packaging.FileName(spec, b.Version))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", nil, err
	}
	f, err := os.Create(p)
	if err != nil {
		return "", nil, err
	}
	err = packaging.Build(f, spec, b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(p)
	return p, data, err
}
