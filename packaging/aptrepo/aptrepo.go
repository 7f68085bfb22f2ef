// Package aptrepo publishes .deb files as a signed apt repository: one
// suite per instance with component main, Packages indexes (plain, gzip
// and xz) for binary-all and every architecture, by-hash copies of them, a
// Release with their SHA256 sums, InRelease (clearsigned) and Release.gpg
// (detached), and a pool.
//
//	REPO/dists/SUITE/{Release,InRelease,Release.gpg}
//	REPO/dists/SUITE/main/binary-{all,amd64}/Packages{,.gz,.xz}
//	REPO/dists/SUITE/main/binary-{all,amd64}/by-hash/SHA256/SUM
//	REPO/pool/SUITE/main/P/NAME/NAME_VERSION_ARCH.deb
//
// The tree is written next to REPO and swapped in whole, so a failed or
// interrupted publish leaves the previous repository as it was, and
// readers never see a half-written one. The previous generation's by-hash
// files are carried over, so a client that fetched the old InRelease just
// before the swap still finds the indexes it names.
//
// Everything is reproducible: the same .debs, Options.Date and key give
// byte-identical indexes, Release and signatures.
package aptrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"pault.ag/go/debian/version"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
)

// Component is the one component of every suite.
const Component = "main"

// DefaultArchitectures are the machine architectures indexed besides "all".
var DefaultArchitectures = []string{"amd64"}

// Signer signs a Release file. *signing.Key is one.
type Signer interface {
	// Clearsign returns text clearsigned at time t (InRelease).
	Clearsign(text []byte, t time.Time) ([]byte, error)
	// DetachSign returns an armored detached signature of text made at t (Release.gpg).
	DetachSign(text []byte, t time.Time) ([]byte, error)
}

// Suite is one distribution of the repository.
type Suite struct {
	// Codename is the suite's Suite and Codename, e.g. "prod".
	Codename string
	// Description is the Release file's one-line Description.
	Description string
	// Debs are the paths of the suite's .deb files.
	Debs []string
}

// File is a file published at the repository's root, next to dists/ and
// pool/ (the public key, say).
type File struct {
	// Name is the file's name; it must not contain a slash.
	Name string
	// Data is its content.
	Data []byte
}

// Options are the repository-wide settings of Publish.
type Options struct {
	// Origin and Label are the Release fields of those names.
	Origin, Label string
	// Date is the Release Date and the signatures' time: the build's
	// SOURCE_DATE_EPOCH, so that a republish is bit-identical. apt refuses
	// a Release dated in the future, so it must not be later than now.
	Date time.Time
	// Architectures are indexed besides "all"; default DefaultArchitectures.
	Architectures []string
	// Signer signs every suite's Release. It is required.
	Signer Signer
	// Files are published at the repository's root.
	Files []File
	// Context, if set, stops Publish between packages once it is done; the
	// previous repository stays as it was.
	Context context.Context
}

// err returns the error of the options' context, if it is done.
func (o Options) err() error {
	if o.Context == nil {
		return nil
	}
	return context.Cause(o.Context)
}

// Result says what Publish wrote.
type Result struct {
	// Suites lists, per suite in codename order, its packages as NAME_VERSION_ARCH.
	Suites []SuiteResult
}

// SuiteResult is one suite of a Result.
type SuiteResult struct {
	Codename string
	Packages []string
}

var codenameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Publish writes the repository of suites into dir, replacing what was
// there in one step (see the package documentation). dir must not exist,
// or hold a repository: Publish refuses to replace anything else.
func Publish(dir string, suites []Suite, o Options) (Result, error) {
	o, suites, err := prepare(suites, o)
	if err != nil {
		return Result{}, err
	}
	if err := checkReplaceable(dir); err != nil {
		return Result{}, err
	}
	var res Result
	err = atomicdir.Write(dir, func(tmp string) error {
		res, err = fill(tmp, dir, suites, o)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("publishing the repository %s: %w", dir, err)
	}
	return res, nil
}

// prepare checks the inputs and fills defaults; suites come back sorted.
func prepare(suites []Suite, o Options) (Options, []Suite, error) {
	if o.Signer == nil {
		return o, nil, errors.New("publishing a repository: no signer")
	}
	if o.Date.IsZero() || o.Date.Unix() < 0 {
		return o, nil, errors.New("publishing a repository: no date (SOURCE_DATE_EPOCH or the commit time)")
	}
	if o.Date.After(time.Now().Add(time.Minute)) {
		return o, nil, fmt.Errorf("publishing a repository: date %s is in the future; apt would reject the Release", o.Date.UTC().Format(time.RFC3339))
	}
	if len(o.Architectures) == 0 {
		o.Architectures = DefaultArchitectures
	}
	for _, a := range o.Architectures {
		if a == "all" || !archRe.MatchString(a) {
			return o, nil, fmt.Errorf("publishing a repository: architecture %q: want a machine architecture such as amd64", a)
		}
	}
	o.Architectures = sortedUnique(o.Architectures)
	for _, f := range o.Files {
		if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || f.Name[0] == '.' || f.Name == "dists" || f.Name == "pool" {
			return o, nil, fmt.Errorf("publishing a repository: root file name %q: want a plain file name other than dists and pool", f.Name)
		}
	}
	suites = slices.Clone(suites)
	slices.SortFunc(suites, func(a, b Suite) int { return strings.Compare(a.Codename, b.Codename) })
	for i, s := range suites {
		if !codenameRe.MatchString(s.Codename) {
			return o, nil, fmt.Errorf("publishing a repository: suite name %q: want lower-case letters, digits, '.', '_' and '-'", s.Codename)
		}
		if i > 0 && suites[i-1].Codename == s.Codename {
			return o, nil, fmt.Errorf("publishing a repository: suite %s is given twice", s.Codename)
		}
	}
	return o, suites, nil
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// fill writes the whole repository into tmp; old is the repository being
// replaced, whose by-hash files are carried over. Suites share nothing on
// disk, so they are written concurrently.
func fill(tmp, old string, suites []Suite, o Options) (Result, error) {
	res := Result{Suites: make([]SuiteResult, len(suites))}
	errs := make([]error, len(suites))
	var wg sync.WaitGroup
	for i, s := range suites {
		wg.Go(func() {
			res.Suites[i], errs[i] = publishSuite(tmp, old, s, o)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("suite %s: %w", s.Codename, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	for _, f := range o.Files {
		if err := os.WriteFile(filepath.Join(tmp, f.Name), f.Data, 0o644); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// publishSuite adds one suite's packages to the pool and writes its
// indexes, Release and signatures.
func publishSuite(root, old string, s Suite, o Options) (SuiteResult, error) {
	pkgs, err := addToPool(root, s, o)
	if err != nil {
		return SuiteResult{}, err
	}
	suiteDir := filepath.Join(root, "dists", s.Codename)
	var files []indexFile
	for _, arch := range append([]string{"all"}, o.Architectures...) {
		dir := Component + "/binary-" + arch
		idx, err := writeIndex(suiteDir, dir, "Packages", packagesIndex(forArch(pkgs, arch)))
		if err != nil {
			return SuiteResult{}, err
		}
		files = append(files, idx...)
	}
	if err := carryOverByHash(filepath.Join(old, "dists", s.Codename), suiteDir); err != nil {
		return SuiteResult{}, err
	}
	rel := release(releaseFields{
		origin: o.Origin, label: o.Label, suite: s.Codename, description: s.Description,
		date: o.Date.UTC().Format(dateFormat), architectures: o.Architectures,
	}, files)
	if err := writeSigned(suiteDir, rel, o); err != nil {
		return SuiteResult{}, err
	}
	sr := SuiteResult{Codename: s.Codename}
	for _, p := range pkgs {
		sr.Packages = append(sr.Packages, fmt.Sprintf("%s_%s_%s", p.name, p.version, p.arch))
	}
	return sr, nil
}

// dateFormat is the Release Date format: RFC 2822 in UTC, as dak writes it.
const dateFormat = "Mon, 02 Jan 2006 15:04:05 UTC"

// writeSigned writes Release, InRelease and Release.gpg.
func writeSigned(suiteDir string, rel []byte, o Options) error {
	in, err := o.Signer.Clearsign(rel, o.Date)
	if err != nil {
		return err
	}
	det, err := o.Signer.DetachSign(rel, o.Date)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"Release": rel, "InRelease": in, "Release.gpg": det} {
		if err := os.WriteFile(filepath.Join(suiteDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// addToPool reads every .deb of s, copies it into the pool and returns
// the packages sorted by name, version (dpkg's order) and architecture.
func addToPool(root string, s Suite, o Options) ([]pkg, error) {
	var pkgs []pkg
	seen := map[string]string{}
	for _, src := range s.Debs {
		if err := o.err(); err != nil {
			return nil, err
		}
		p, err := readControl(src)
		if err != nil {
			return nil, err
		}
		p.pool = poolPath(s.Codename, p)
		if prev, dup := seen[p.pool]; dup {
			return nil, fmt.Errorf("%s and %s are both %s", prev, src, filepath.Base(p.pool))
		}
		seen[p.pool] = src
		if err := copyToPool(root, src, &p); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b pkg) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := version.Compare(a.version, b.version); c != 0 {
			return c
		}
		return strings.Compare(a.arch, b.arch)
	})
	return pkgs, nil
}

// forArch returns the packages a binary-arch index lists: those of arch,
// and for a machine architecture also the "all" ones.
func forArch(pkgs []pkg, arch string) []pkg {
	var out []pkg
	for _, p := range pkgs {
		if p.arch == arch || p.arch == "all" {
			out = append(out, p)
		}
	}
	return out
}
