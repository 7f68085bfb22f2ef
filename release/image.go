package release

import (
	"context"
	"fmt"
	"os"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// BakeImage bakes one image from the repository bo.Repo, which must have
// the instance's suite, for the roles named (bo.Roles), with the
// application package app chooses: Deb (after CheckSite), the fixture
// application built at the version of the suite's packages, or the
// repository's. A missing suite or an unknown role is a *site.InputError.
func BakeImage(ctx context.Context, bo bake.Options, roles []string, app App) error {
	if err := CheckRepo(bo.Repo, bo.Instance); err != nil {
		return err
	}
	for _, r := range roles {
		role, err := site.ParseRole(r)
		if err != nil {
			return fmt.Errorf("--role %q: %w", r, err)
		}
		bo.Roles = append(bo.Roles, role)
	}
	tmp, remove, err := tempfiles.MkdirTemp("", "invenio-image-app-")
	if err != nil {
		return err
	}
	defer remove()
	if bo.AppDeb, err = app.imageDeb(bo, tmp); err != nil {
		return err
	}
	_, err = bake.Bake(ctx, bo)
	return err
}

// imageDeb returns the application package file an image installs: Deb,
// the fixture application built into dir, or none.
func (a *App) imageDeb(bo bake.Options, dir string) (string, error) {
	if a.Deb != "" {
		return a.Deb, a.CheckSite(bo.Site)
	}
	if a.Fixture == 0 {
		return "", nil
	}
	in, err := bo.Site.FindInstance(bo.Instance)
	if err != nil {
		return "", err
	}
	pkgs, err := bake.RepoPackages(bo.Repo, in.Name)
	if err != nil {
		return "", err
	}
	kr, ok := pkgs[roles.KeyringPackage]
	if !ok {
		return "", fmt.Errorf("--repo %s: suite %s has no %s to take the version from", bo.Repo, in.Name, roles.KeyringPackage)
	}
	tree, po, err := FixtureTree(bo.Site, in.Suite, a.Fixture)
	if err != nil {
		return "", err
	}
	return BuildApp(bo.Log, dir, tree, po, packaging.BuildOptions{Version: kr.Version, Epoch: bo.Epoch})
}

// CheckRepo checks that repo has the instance's suite.
func CheckRepo(repo, instance string) error {
	if _, err := os.Stat(repo + "/dists/" + instance + "/InRelease"); err != nil {
		return &site.InputError{Err: fmt.Errorf("--repo %s has no suite %s (%w); publish one with `invenio-infra repo`", repo, instance, err)}
	}
	return nil
}

// ImageEpoch is the time an image is dated: SOURCE_DATE_EPOCH, else the
// last commit's time when run in a git checkout, else now.
func ImageEpoch() (time.Time, error) {
	if os.Getenv("SOURCE_DATE_EPOCH") != "" {
		return SourceDateEpoch()
	}
	if wd, err := os.Getwd(); err == nil {
		if t, err := packaging.SourceDateEpoch(wd); err == nil {
			return t, nil
		}
	}
	return time.Now(), nil
}
