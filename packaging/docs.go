package packaging

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultLicense is the license a spec gets when it names none.
const DefaultLicense = "Apache-2.0"

// commonLicenses are the licenses Debian ships in /usr/share/common-licenses
// (base-files), which a copyright file may point at instead of quoting.
var commonLicenses = []string{
	"Apache-2.0", "Artistic", "BSD", "CC0-1.0", "GFDL-1.2", "GFDL-1.3",
	"GPL-1", "GPL-2", "GPL-3", "LGPL-2", "LGPL-2.1", "LGPL-3", "MPL-1.1", "MPL-2.0",
}

// copyrightFormat is the DEP-5 format URI lintian expects in the first field.
const copyrightFormat = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"

// apacheText is the license paragraph Debian packages use for Apache-2.0.
const apacheText = `Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

https://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.

On Debian systems, the complete text of the Apache License, Version 2.0
can be found in "/usr/share/common-licenses/Apache-2.0".`

// docDir is where a package's copyright and changelog live.
func docDir(name string) string { return "/usr/share/doc/" + name }

// withDocs returns s.Files plus the generated copyright file (unless the
// spec ships its own) and changelog.Debian.gz.
func withDocs(s Spec, o BuildOptions) ([]File, error) {
	out := slices.Clone(s.Files)
	cpath, lpath := docDir(s.Name)+"/copyright", docDir(s.Name)+"/changelog.Debian.gz"
	if slices.ContainsFunc(s.Files, func(f File) bool { return f.Path == lpath }) {
		return nil, fmt.Errorf("%s is generated from the build options; do not ship it", lpath)
	}
	if !slices.ContainsFunc(s.Files, func(f File) bool { return f.Path == cpath }) {
		c, err := copyright(s, o.Epoch)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: cpath, Mode: 0o644, Body: c})
	}
	l, err := changelogGz(s, o)
	if err != nil {
		return nil, err
	}
	out = append(out, File{Path: lpath, Mode: 0o644, Body: l})
	opath := "/usr/share/lintian/overrides/" + s.Name
	if slices.ContainsFunc(s.Files, func(f File) bool { return f.Path == opath }) {
		return nil, fmt.Errorf("%s is generated from LintianOverrides; do not ship it", opath)
	}
	return append(out, File{Path: opath, Mode: 0o644, Body: lintianOverrides(s)}), nil
}

// alwaysOverridden are the lintian tags every package built here triggers
// by design: a single changelog entry for revision -1 with no bug closed
// reads to lintian as an initial upload to Debian that closes no ITP bug.
var alwaysOverridden = []string{"initial-upload-closes-no-bugs"}

// lintianOverrides renders the package's lintian overrides file.
func lintianOverrides(s Spec) []byte {
	var b strings.Builder
	for _, o := range append(slices.Clone(alwaysOverridden), s.LintianOverrides...) {
		fmt.Fprintf(&b, "%s: %s\n", s.Name, strings.TrimSpace(o))
	}
	return []byte(b.String())
}

// copyright renders a machine-readable (DEP-5) copyright file.
func copyright(s Spec, epoch time.Time) ([]byte, error) {
	license := cmp.Or(s.License, DefaultLicense)
	text, err := licenseText(license, s.LicenseText)
	if err != nil {
		return nil, err
	}
	notice := cmp.Or(s.Copyright, fmt.Sprintf("%d %s", epoch.UTC().Year(), s.Maintainer))
	var b strings.Builder
	fmt.Fprintf(&b, "Format: %s\n", copyrightFormat)
	fmt.Fprintf(&b, "Upstream-Name: %s\n", s.Name)
	fmt.Fprintf(&b, "Upstream-Contact: %s\n", s.Maintainer)
	if s.Homepage != "" {
		fmt.Fprintf(&b, "Source: %s\n", s.Homepage)
	}
	fmt.Fprintf(&b, "\nFiles: *\nCopyright: %s\nLicense: %s\n", continuation(notice), license)
	fmt.Fprintf(&b, "\nLicense: %s\n %s\n", license, continuation(text))
	return []byte(b.String()), nil
}

// licenseText is the license paragraph's body: the spec's own text, or for
// a license in /usr/share/common-licenses a pointer to it.
func licenseText(license, text string) (string, error) {
	switch {
	case strings.TrimSpace(text) != "":
		return strings.TrimSpace(text), nil
	case license == "Apache-2.0":
		return apacheText, nil
	case slices.Contains(commonLicenses, license):
		return fmt.Sprintf("On Debian systems, the complete text of this license can be found in\n\"/usr/share/common-licenses/%s\".", license), nil
	}
	return "", fmt.Errorf("license %q is not in /usr/share/common-licenses; set LicenseText", license)
}

// continuation turns text into the body of a multi-line deb822 field:
// continuation lines start with a space and blank lines become " .".
func continuation(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			l = "."
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n ")
}

// changelog renders the package's single debian/changelog entry.
func changelog(s Spec, o BuildOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) %s; urgency=medium\n\n", s.Name, o.Version, o.Distribution)
	for _, c := range o.Changes {
		lines := wrap(strings.Join(strings.Fields(c), " "), 76)
		fmt.Fprintf(&b, "  * %s\n", strings.Join(lines, "\n    "))
	}
	fmt.Fprintf(&b, "\n -- %s  %s\n", s.Maintainer, o.Epoch.UTC().Format(time.RFC1123Z))
	return b.String()
}

// changelogGz compresses the changelog the way dh_compress does: best
// compression, no file name and no timestamp in the header.
func changelogGz(s Spec, o BuildOptions) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(changelog(s, o))); err != nil {
		return nil, fmt.Errorf("compressing the changelog: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing the changelog: %w", err)
	}
	return buf.Bytes(), nil
}
