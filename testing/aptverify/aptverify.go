// Package aptverify checks an apt repository the way apt reads it, for the
// tests of the repository builder (packaging/aptrepo) and of the tools that
// publish one. It parses the Release file itself rather than through
// aptrepo, so that a mistake there cannot hide from it.
package aptverify

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ulikunitz/xz"
	"pault.ag/go/debian/control"
)

// Verify checks the repository in dir the way apt reads it, for every
// suite below dists/: InRelease is clearsigned by a key of keyring (binary
// or armored public keys) and carries exactly the Release file, Release.gpg
// verifies, every index the Release lists exists with its size and SHA256,
// also under by-hash/SHA256/, the compressed indexes hold the plain one,
// and every package the indexes list is in the pool with its size and
// SHA256. It returns every problem it finds.
func Verify(dir string, keyring []byte) error {
	ring, err := readRing(keyring)
	if err != nil {
		return err
	}
	suites, err := os.ReadDir(filepath.Join(dir, "dists"))
	if err != nil {
		return fmt.Errorf("verifying %s: %w", dir, err)
	}
	var errs []error
	for _, s := range suites {
		if err := verifySuite(dir, s.Name(), ring); err != nil {
			errs = append(errs, fmt.Errorf("suite %s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// readRing parses a public keyring, binary or armored.
func readRing(data []byte) (openpgp.EntityList, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		return openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// verifySuite checks one suite's signatures, indexes and pool files.
func verifySuite(root, suite string, ring openpgp.EntityList) error {
	sd := filepath.Join(root, "dists", suite)
	rel, err := os.ReadFile(filepath.Join(sd, "Release"))
	if err != nil {
		return err
	}
	if err := verifySignatures(sd, rel, ring); err != nil {
		return err
	}
	entries, err := releaseEntries(rel)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return errors.New("the Release file lists no SHA256 sums")
	}
	var errs []error
	plain := map[string][]byte{}
	for _, e := range entries {
		data, err := checkIndex(sd, e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if data, err = decompress(e.path, data); err != nil {
			errs = append(errs, err)
			continue
		}
		dir := path.Dir(e.path)
		if prev, ok := plain[dir]; ok && !bytes.Equal(prev, data) {
			errs = append(errs, fmt.Errorf("%s differs from the other forms of %s/Packages", e.path, dir))
		}
		plain[dir] = data
	}
	for dir, data := range plain {
		if err := checkPool(root, data); err != nil {
			errs = append(errs, fmt.Errorf("%s/Packages: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// verifySignatures checks InRelease and Release.gpg against rel.
func verifySignatures(sd string, rel []byte, ring openpgp.EntityList) error {
	in, err := os.ReadFile(filepath.Join(sd, "InRelease"))
	if err != nil {
		return err
	}
	block, _ := clearsign.Decode(in)
	if block == nil {
		return errors.New("InRelease is not a clearsigned message")
	}
	if _, err := block.VerifySignature(ring, nil); err != nil {
		return fmt.Errorf("InRelease: bad signature: %w", err)
	}
	if !bytes.Equal(block.Plaintext, rel) {
		return errors.New("InRelease does not carry the Release file")
	}
	det, err := os.Open(filepath.Join(sd, "Release.gpg"))
	if err != nil {
		return err
	}
	defer det.Close()
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(rel), det, nil); err != nil {
		return fmt.Errorf("bad signature in Release.gpg: %w", err)
	}
	return nil
}

// checkIndex reads one listed index and its by-hash copy and checks both
// against the Release entry.
func checkIndex(sd string, e indexFile) ([]byte, error) {
	var data []byte
	for _, p := range []string{e.path, path.Join(path.Dir(e.path), "by-hash", "SHA256", e.sha256)} {
		b, err := os.ReadFile(filepath.Join(sd, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		if len(b) != e.size || hex.EncodeToString(sum[:]) != e.sha256 {
			return nil, fmt.Errorf("%s: size %d and SHA256 %x do not match the Release (%d, %s)", p, len(b), sum, e.size, e.sha256)
		}
		data = b
	}
	return data, nil
}

// decompress returns an index's plain content.
func decompress(name string, data []byte) ([]byte, error) {
	var r io.Reader
	var err error
	switch path.Ext(name) {
	case ".gz":
		r, err = gzip.NewReader(bytes.NewReader(data))
	case ".xz":
		r, err = xz.NewReader(bytes.NewReader(data))
	default:
		return data, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// checkPool checks every stanza of a Packages index against its pool file.
func checkPool(root string, packages []byte) error {
	r, err := control.NewParagraphReader(bytes.NewReader(packages), nil)
	if err != nil {
		return err
	}
	paras, err := r.All()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range paras {
		name := p.Values["Filename"]
		if !filepath.IsLocal(name) {
			errs = append(errs, fmt.Errorf("%s: Filename %q is not below the repository", p.Values["Package"], name))
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sum := sha256.Sum256(b)
		if strconv.Itoa(len(b)) != p.Values["Size"] || hex.EncodeToString(sum[:]) != p.Values["SHA256"] {
			errs = append(errs, fmt.Errorf("%s does not match its Size and SHA256", name))
		}
	}
	return errors.Join(errs...)
}

// indexFile is one file that a Release lists: its path below dists/SUITE,
// size and SHA256.
type indexFile struct {
	path   string
	size   int
	sha256 string
}

// releaseEntries parses the SHA256 field of a Release file.
func releaseEntries(rel []byte) ([]indexFile, error) {
	r, err := control.NewParagraphReader(bytes.NewReader(rel), nil)
	if err != nil {
		return nil, fmt.Errorf("reading the Release file: %w", err)
	}
	para, err := r.Next()
	if err != nil {
		return nil, fmt.Errorf("reading the Release file: %w", err)
	}
	fields := strings.Fields(para.Values["SHA256"])
	if len(fields)%3 != 0 {
		return nil, errors.New("the Release file's SHA256 lines are not SUM SIZE PATH")
	}
	var out []indexFile
	for i := 0; i < len(fields); i += 3 {
		size, err := strconv.Atoi(fields[i+1])
		if err != nil {
			return nil, fmt.Errorf("the Release file: size of %s: %w", fields[i+2], err)
		}
		out = append(out, indexFile{sha256: fields[i], size: size, path: fields[i+2]})
	}
	return out, nil
}
