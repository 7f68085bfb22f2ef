package release

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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
	PublicKeyFile = roles.KeyringPackage + ".asc"
	KeyringFile   = roles.KeyringPackage + ".gpg"
)

// BootstrapFile is the stable name, at the repository's root, of an
// instance's keyring package: what admins download to add the repository.
func BootstrapFile(instance string) string {
	return roles.KeyringPackage + "-" + instance + ".deb"
}

// Repository says what Publish publishes.
type Repository struct {
	// Packages is the directory of packages, Packages/<instance>/*.deb.
	Packages string
	// Out is the repository directory.
	Out string
	// SigningKey is the armored private key file that signs; see
	// SigningKey for what signs without one.
	SigningKey string
	// Warn gets the warning about a throwaway key.
	Warn io.Writer
	// KeepReleases is how many releases each suite keeps when Out holds a
	// repository already (aptrepo.Options.KeepReleases).
	KeepReleases int
	// Build returns the version and time of the keyring packages (e.g.
	// BuildVersion); Publish calls it once Packages has been checked.
	Build func() (packaging.BuildOptions, error)
	// Log gets progress lines.
	Log *slog.Logger
}

// Publish publishes the packages of every instance that r.Packages has a
// directory for as a suite of r.Out, each with its keyring package built
// for the signing key; Out's root also gets the public key and each
// keyring package. A Packages directory that does not fit the site, or a
// key that cannot be read, is a *site.InputError.
func Publish(ctx context.Context, s *site.Site, r Repository) error {
	ins, err := PackageInstances(s, r.Packages)
	if err != nil {
		return err
	}
	b, err := r.Build()
	if err != nil {
		return err
	}
	b.Context = ctx
	key, err := SigningKey(r.SigningKey, b.Epoch, r.Out, r.Warn)
	if err != nil {
		return err
	}
	start := time.Now()
	r.Log.Info("publishing repository", "suites", len(ins), "packages", r.Packages, "out", r.Out,
		"key", key.Fingerprint(), "source_date_epoch", b.Epoch.Unix())
	res, err := publish(r, key, b, s, ins)
	if err != nil {
		return err
	}
	for _, sr := range res.Suites {
		r.Log.Info("published suite", "suite", sr.Codename, "packages", len(sr.Packages), "kept", len(sr.Kept))
	}
	r.Log.Info("published repository", "out", r.Out, "seconds", time.Since(start).Seconds())
	return nil
}

// SigningKey returns the key that signs a repository at out: the armored
// private key in file path, else the one of $INVENIO_INFRA_SIGNING_KEY,
// else a throwaway key dated epoch, with a warning to warn (which no quiet
// mode silences). A key that cannot be read is a *site.InputError.
func SigningKey(path string, epoch time.Time, out string, warn io.Writer) (*signing.Key, error) {
	if path != "" {
		k, err := signing.LoadFile(path)
		if err != nil {
			return nil, site.BadInput("--signing-key: %w", err)
		}
		return k, nil
	}
	if k, ok, err := signing.FromEnv(); err != nil {
		return nil, &site.InputError{Err: err}
	} else if ok {
		return k, nil
	}
	k, err := throwawayKey(epoch)
	if err != nil {
		return nil, err
	}
	warnThrowaway(warn, k, out)
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
		signing.EnvKey, out, k.Fingerprint(), k.Expires().Format(time.DateOnly), filepath.Join(out, PublicKeyFile))
}

// PackageInstances returns the site's instances that dir has packages
// for, in the site's order. Every subdirectory of dir must be one.
func PackageInstances(s *site.Site, dir string) ([]site.Instance, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, site.BadInput("--packages: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			return nil, site.BadInput("--packages %s: %s is not an instance directory; want DIR/<instance>/*.deb as `packages` writes it", dir, e.Name())
		}
		if _, ok := s.Instance(e.Name()); !ok {
			return nil, site.BadInput("--packages %s: %s is not an instance of site %q (instances: %s)", dir, e.Name(), s.Name, instanceNames(s))
		}
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return nil, site.BadInput("--packages %s holds no instance directories; run `invenio-infra packages --out %s` first", dir, dir)
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
func publish(r Repository, key *signing.Key, b packaging.BuildOptions, s *site.Site, ins []site.Instance) (aptrepo.Result, error) {
	tmp, remove, err := tempfiles.MkdirTemp("", "invenio-keyring-")
	if err != nil {
		return aptrepo.Result{}, err
	}
	defer remove()
	opts := aptrepo.Options{
		Origin:       s.Name,
		Label:        s.Name + " InvenioRDM",
		Date:         b.Epoch,
		Signer:       key,
		KeepReleases: r.KeepReleases,
		Context:      b.Context,
		Files: []aptrepo.File{
			{Name: PublicKeyFile, Data: key.ArmoredPublic()},
			{Name: KeyringFile, Data: key.Keyring()},
		},
	}
	var suites []aptrepo.Suite
	for _, in := range ins {
		debs, err := instanceDebs(filepath.Join(r.Packages, in.Name))
		if err != nil {
			return aptrepo.Result{}, err
		}
		kr, data, err := buildKeyring(tmp, s, in, key, b)
		if err != nil {
			return aptrepo.Result{}, err
		}
		opts.Files = append(opts.Files, aptrepo.File{Name: BootstrapFile(in.Name), Data: data})
		suites = append(suites, aptrepo.Suite{
			Codename:    in.Name,
			Description: fmt.Sprintf("InvenioRDM packages of site %s, instance %s (%s)", s.Name, in.Name, in.URL),
			Debs:        append(debs, kr),
		})
	}
	return aptrepo.Publish(r.Out, suites, opts)
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
			return nil, site.BadInput("--packages: %w", err)
		}
		if strings.HasPrefix(filepath.Base(d), roles.KeyringPackage+"_") {
			return nil, site.BadInput("%s: the keyring package is built by repo from the signing key; remove it from --packages", d)
		}
	}
	if len(debs) == 0 {
		return nil, site.BadInput("%s holds no .deb files", dir)
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
