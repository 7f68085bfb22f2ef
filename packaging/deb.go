package packaging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/tempfiles"
)

// Compression is how the data member of every .deb is compressed: gzip at
// level 9 (Go's compress/gzip, deterministic, what dpkg-deb -Zgzip does).
// BenchmarkBuild measured on 2 cores: a small role package is 2.9 KB in
// ~10 ms with gzip against 3.0 KB in ~75 ms with nfpm's pure-Go xz; a
// package of 100 text files (730 KB) is 87 KB with gzip, 107 KB with xz
// and 110 KB with zstd. The control member is always gzip.
const Compression = "gzip"

// compression is Compression; benchmarks change it to compare.
var compression = Compression

// DefaultDistribution is the changelog distribution when BuildOptions has none.
const DefaultDistribution = "unstable"

// BuildOptions are the inputs of a build that do not come from the spec.
// Equal specs and options give bit-identical packages.
type BuildOptions struct {
	// Version is the package version, usually from DescribeVersion.
	Version Version
	// Epoch dates every file, archive member and the changelog entry,
	// usually from SourceDateEpoch. It is required.
	Epoch time.Time
	// Distribution names the changelog entry's distribution; default "unstable".
	Distribution string
	// Changes are the changelog entry's items, one sentence each; default
	// one item saying that invenio-infra built the package.
	Changes []string
	// Progress, if set, is called by WriteAll with the path of each package
	// it has written, one call at a time.
	Progress func(path string)
	// Context, if set, stops Build before it starts and WriteAll between
	// packages once it is done: a signalled run builds no more.
	Context context.Context
}

// err returns the error of the options' context, if it is done.
func (o BuildOptions) err() error {
	if o.Context == nil {
		return nil
	}
	return context.Cause(o.Context)
}

// withDefaults fills in the optional fields.
func (o BuildOptions) withDefaults() BuildOptions {
	if o.Distribution == "" {
		o.Distribution = DefaultDistribution
	}
	if len(o.Changes) == 0 {
		o.Changes = []string{fmt.Sprintf("Built by invenio-infra as version %s.", o.Version)}
	}
	o.Epoch = o.Epoch.UTC()
	return o
}

// validate checks what Build cannot do without.
func (o BuildOptions) validate() error {
	if err := o.Version.Validate(); err != nil {
		return err
	}
	if o.Version.Revision == "" {
		return fmt.Errorf("version %q is native; packages need a Debian revision such as -1", o.Version)
	}
	if o.Epoch.IsZero() || o.Epoch.Unix() < 0 {
		return errors.New("no epoch: set BuildOptions.Epoch (SOURCE_DATE_EPOCH or the commit time)")
	}
	if !distributionRe.MatchString(o.Distribution) {
		return fmt.Errorf("distribution %q: want a suite name such as unstable or bookworm", o.Distribution)
	}
	return nil
}

var distributionRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)

// Build writes the .deb of s to w: Architecture all unless s names one,
// every regular file under /etc a conffile, explicit modes and owners,
// explicit parent directories, maintainer scripts from s.Maint, a DEP-5
// copyright file and a changelog.Debian.gz, every timestamp o.Epoch.
func Build(w io.Writer, s Spec, o BuildOptions) error {
	if err := o.err(); err != nil {
		return fmt.Errorf("package %s: %w", s.Name, err)
	}
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return fmt.Errorf("package %s: %w", s.Name, err)
	}
	if err := s.validate(); err != nil {
		return err
	}
	work, remove, err := tempfiles.MkdirTemp("", "invenio-deb-")
	if err != nil {
		return fmt.Errorf("package %s: %w", s.Name, err)
	}
	defer remove()
	info, err := nfpmInfo(work, s, o)
	if err != nil {
		return fmt.Errorf("package %s: %w", s.Name, err)
	}
	if err := deb.Default.Package(info, w); err != nil {
		return fmt.Errorf("package %s: nfpm: %w", s.Name, err)
	}
	return nil
}

// nfpmInfo stages the package's files and scripts in work (nfpm reads
// both from disk) and describes the package to nfpm.
func nfpmInfo(work string, s Spec, o BuildOptions) (*nfpm.Info, error) {
	all, err := withDocs(s, o)
	if err != nil {
		return nil, err
	}
	contents, err := stageContents(filepath.Join(work, "files"), all, o.Epoch)
	if err != nil {
		return nil, err
	}
	scripts, err := stageScripts(filepath.Join(work, "scripts"), s)
	if err != nil {
		return nil, err
	}
	info := &nfpm.Info{
		Name:            s.Name,
		Arch:            s.arch(),
		Platform:        "linux",
		Version:         o.Version.Upstream,
		Release:         o.Version.Revision,
		VersionSchema:   "none",
		Section:         s.Section,
		Priority:        "optional",
		Maintainer:      s.Maintainer,
		Description:     s.Synopsis + "\n" + wrapDescription(s.Description),
		Homepage:        s.Homepage,
		DisableGlobbing: true,
		MTime:           o.Epoch,
		Overridables: nfpm.Overridables{
			Depends:    substVars(s.Depends, o.Version),
			Recommends: substVars(s.Recommends, o.Version),
			Suggests:   substVars(s.Suggests, o.Version),
			Conflicts:  substVars(s.Conflicts, o.Version),
			Replaces:   substVars(s.Replaces, o.Version),
			Provides:   substVars(s.Provides, o.Version),
			Contents:   contents,
			Umask:      0o022,
			Scripts:    scripts,
			Deb: nfpm.Deb{
				Breaks:      substVars(s.Breaks, o.Version),
				Compression: compression,
				Triggers:    nfpm.DebTriggers{InterestAwait: s.TriggerPaths},
			},
		},
	}
	if o.Version.Epoch > 0 {
		info.Epoch = fmt.Sprint(o.Version.Epoch)
	}
	return info, nil
}

// stageContents writes every regular file's body to dir and returns the
// nfpm contents: explicit directories (the spec's and every parent, root
// 0755 unless the spec says otherwise), files (config under /etc) and
// symlinks, each with its mode, owner and mtime set so that nfpm never
// consults the staged file's metadata or the umask.
func stageContents(dir string, list []File, mtime time.Time) (files.Contents, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var out files.Contents
	for _, d := range implicitDirs(list) {
		out = append(out, content(d, "", files.TypeDir, mtime, 0))
	}
	for i, f := range list {
		c, err := stageFile(dir, i, f, mtime)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// stageFile turns one spec file into an nfpm content entry.
func stageFile(dir string, i int, f File, mtime time.Time) (*files.Content, error) {
	switch {
	case f.isDir():
		return content(f, "", files.TypeDir, mtime, 0), nil
	case f.isSymlink():
		// A non-zero size keeps nfpm from stat'ing the link target
		// relative to the working directory.
		return content(f, string(f.Body), files.TypeSymlink, mtime, int64(len(f.Body))), nil
	}
	src := filepath.Join(dir, fmt.Sprintf("%05d", i))
	if err := os.WriteFile(src, f.Body, 0o600); err != nil {
		return nil, fmt.Errorf("staging %s: %w", f.Path, err)
	}
	typ := files.TypeFile
	if f.isConffile() {
		typ = files.TypeConfig
	}
	return content(f, src, typ, mtime, int64(len(f.Body))), nil
}

// content builds an nfpm content entry with complete file info.
func content(f File, src, typ string, mtime time.Time, size int64) *files.Content {
	return &files.Content{
		Source:      src,
		Destination: f.Path,
		Type:        typ,
		FileInfo: &files.ContentFileInfo{
			Owner: f.owner(),
			Group: f.group(),
			Mode:  f.mode(),
			MTime: mtime,
			Size:  size,
		},
	}
}

// stageScripts writes the maintainer scripts debhelper would generate for
// s.Maint and returns their paths for nfpm.
func stageScripts(dir string, s Spec) (nfpm.Scripts, error) {
	m := s.Maint
	m.Package = s.Name
	sc := m.Scripts()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nfpm.Scripts{}, err
	}
	var out nfpm.Scripts
	for _, x := range []struct {
		name, body string
		dst        *string
	}{
		{"preinst", sc.Preinst, &out.PreInstall},
		{"postinst", sc.Postinst, &out.PostInstall},
		{"prerm", sc.Prerm, &out.PreRemove},
		{"postrm", sc.Postrm, &out.PostRemove},
	} {
		if x.body == "" {
			continue
		}
		p := filepath.Join(dir, x.name)
		if err := os.WriteFile(p, []byte(x.body), 0o600); err != nil {
			return nfpm.Scripts{}, fmt.Errorf("staging %s: %w", x.name, err)
		}
		*x.dst = p
	}
	return out, nil
}

// wrapDescription breaks lines longer than Debian's 80 columns (the control
// file indents each by one space) at word boundaries; shorter lines and
// blank lines between paragraphs are kept as they are.
func wrapDescription(s string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, wrap(strings.TrimSpace(line), 78)...)
	}
	return strings.Join(out, "\n")
}

// wrap breaks one line into lines of at most width columns, never inside a word.
func wrap(line string, width int) []string {
	words := strings.Fields(line)
	if len(words) == 0 {
		return []string{""}
	}
	var out []string
	cur := words[0]
	for _, w := range words[1:] {
		if len(cur)+1+len(w) > width {
			out = append(out, cur)
			cur = w
			continue
		}
		cur += " " + w
	}
	return append(out, cur)
}

// BinaryVersion is the substitution variable that relationship fields use to
// name the version being built, as dpkg-gencontrol's ${binary:Version} does:
// "invenio-common (= ${binary:Version})".
const BinaryVersion = "${binary:Version}"

// substVars renders relationship fields with BinaryVersion replaced by v.
func substVars(fields []Relation, v Version) []string {
	out := RelationStrings(fields)
	for i, f := range out {
		out[i] = strings.ReplaceAll(f, BinaryVersion, v.String())
	}
	return out
}
