package bake

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Package is one installed package of an image.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	// Synopsis is the first line of the description; the manifest keeps
	// it only in StandIns, for packages that say they are stand-ins.
	Synopsis string `json:"-"`
}

// ParseDpkgStatus returns the installed packages ("install ok installed")
// of a dpkg status file, sorted by name.
func ParseDpkgStatus(data []byte) ([]Package, error) {
	var out []Package
	for _, para := range bytes.Split(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n\n")) {
		f := fields(para)
		if f["Package"] == "" {
			continue
		}
		if f["Status"] != "install ok installed" {
			continue
		}
		if f["Version"] == "" {
			return nil, fmt.Errorf("dpkg status: package %s has no version", f["Package"])
		}
		out = append(out, Package{Name: f["Package"], Version: f["Version"], Architecture: f["Architecture"], Synopsis: f["Description"]})
	}
	slices.SortFunc(out, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// fields returns the single-line fields of a deb822 paragraph.
func fields(para []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(para))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// InstalledPackages reads the dpkg status of the root.
func InstalledPackages(root string) ([]Package, error) {
	data, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		return nil, err
	}
	return ParseDpkgStatus(data)
}

// Output is one file an image bake wrote.
type Output struct {
	// File is the file's name in the output directory (or, for a
	// directory such as an OCI layout, the directory's name).
	File string `json:"file"`
	// Kind is raw, qcow2 or oci.
	Kind string `json:"kind"`
	// Size is the file's size in bytes (for an OCI layout, of all its files).
	Size int64 `json:"size"`
	// SHA256 is the file's digest; for an OCI layout the image manifest's.
	SHA256 string `json:"sha256"`
}

// Manifest describes a baked image: what went in and what came out.
type Manifest struct {
	Name     string   `json:"name"`
	Site     string   `json:"site"`
	Instance string   `json:"instance"`
	Host     string   `json:"host,omitempty"`
	Roles    []string `json:"roles"`
	// Suite, Mirror, SecurityMirror and MirrorState are the Debian inputs.
	Suite          string      `json:"suite"`
	Mirror         string      `json:"mirror"`
	SecurityMirror string      `json:"security_mirror,omitempty"`
	Snapshot       bool        `json:"snapshot,omitempty"`
	MirrorState    MirrorState `json:"mirror_state"`
	// BaseKey identifies the cached base root the image was made from.
	BaseKey string `json:"base_key"`
	// Repository is the local repository and the suite taken from it.
	Repository      string `json:"repository"`
	RepositorySuite string `json:"repository_suite"`
	// RolePackages are the packages installed for the roles.
	RolePackages []string `json:"role_packages"`
	// StandIns name the packages in the image that only stand in for the
	// real ones (the application, the search engine): such an image is
	// for tests only.
	StandIns []string `json:"stand_ins"`
	// SourceDateEpoch dates the file systems.
	SourceDateEpoch int64 `json:"source_date_epoch"`
	// Packages are every installed package with its version.
	Packages []Package `json:"packages"`
	// Outputs are the files made, with their digests.
	Outputs []Output `json:"outputs"`
}

// Write writes m as indented JSON to path, through a temporary file.
func (m Manifest) Write(path string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadManifest reads a manifest that Write wrote.
func ReadManifest(path string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// Version returns the version of the named installed package, or "".
func (m Manifest) Version(name string) string {
	for _, p := range m.Packages {
		if p.Name == name {
			return p.Version
		}
	}
	return ""
}

// fileOutput hashes a file into an Output.
func fileOutput(path, kind string) (Output, error) {
	f, err := os.Open(path)
	if err != nil {
		return Output{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Output{}, err
	}
	return Output{File: filepath.Base(path), Kind: kind, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
