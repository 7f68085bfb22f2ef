package aptrepo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// indexFile is one file that a Release lists: its path below
// dists/SUITE, size and SHA256.
type indexFile struct {
	path   string
	size   int
	sha256 string
}

// packagesIndex renders the Packages file of the given packages, which are
// sorted already: one stanza each, separated by blank lines.
func packagesIndex(pkgs []pkg) []byte {
	var b bytes.Buffer
	for i, p := range pkgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeParagraph(&b, p.stanza())
	}
	return b.Bytes()
}

// compressions are the forms each Packages file is published in. apt
// prefers xz; gzip is for older tools and people.
var compressions = []struct {
	ext      string
	compress func([]byte) ([]byte, error)
}{
	{"", func(b []byte) ([]byte, error) { return b, nil }},
	{".gz", gzipBytes},
	{".xz", xzBytes},
}

// gzipBytes compresses at the best level with no name and no time in the
// header, so equal input gives equal output.
func gzipBytes(data []byte) ([]byte, error) {
	return compress(data, func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	})
}

// xzBytes compresses with the pure-Go xz encoder (single-threaded and
// deterministic) and a CRC64 check, which liblzma reads. The dictionary
// is as large as the data, within xz's bounds: the encoder's default of
// 8 MiB costs a hash table that took most of a publish's time.
func xzBytes(data []byte) ([]byte, error) {
	dict := min(max(len(data), lzma.MinDictCap), 8<<20)
	return compress(data, func(w io.Writer) (io.WriteCloser, error) {
		return xz.WriterConfig{CheckSum: xz.CRC64, DictCap: dict}.NewWriter(w)
	})
}

// compress writes data through the compressor newWriter makes over a
// buffer and returns the compressed bytes.
func compress(data []byte, newWriter func(io.Writer) (io.WriteCloser, error)) ([]byte, error) {
	var b bytes.Buffer
	w, err := newWriter(&b)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeIndex writes one index (Packages) in every compression into
// suiteDir/dir, each also as by-hash/SHA256/<sum>, and returns the Release
// entries for them.
func writeIndex(suiteDir, dir, name string, data []byte) ([]indexFile, error) {
	abs := filepath.Join(suiteDir, filepath.FromSlash(dir))
	byHash := filepath.Join(abs, "by-hash", "SHA256")
	if err := os.MkdirAll(byHash, 0o755); err != nil {
		return nil, err
	}
	var out []indexFile
	for _, c := range compressions {
		body, err := c.compress(data)
		if err != nil {
			return nil, fmt.Errorf("compressing %s%s: %w", name, c.ext, err)
		}
		sum := sha256.Sum256(body)
		f := indexFile{path: path.Join(dir, name+c.ext), size: len(body), sha256: hex.EncodeToString(sum[:])}
		if err := os.WriteFile(filepath.Join(abs, name+c.ext), body, 0o644); err != nil {
			return nil, err
		}
		if err := writeOnce(filepath.Join(byHash, f.sha256), body); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// writeOnce writes a by-hash file unless it exists: two indexes with the
// same content (two empty ones, say) share one.
func writeOnce(p string, body []byte) error {
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	return os.WriteFile(p, body, 0o644)
}

// releaseFields are a suite's Release header, everything but the hashes.
type releaseFields struct {
	origin, label, suite, description, date string
	architectures                           []string
}

// release renders a suite's Release file: Debian's field order, Date in
// UTC, Acquire-By-Hash, and SHA256 sums (only: MD5 and SHA1 are weak, and
// apt since 1.1 wants a strong hash) of every index, sorted by path and
// with sizes right-aligned as in Debian's own Release files.
func release(r releaseFields, files []indexFile) []byte {
	p := newParagraph()
	p.Set("Origin", r.origin)
	p.Set("Label", r.label)
	p.Set("Suite", r.suite)
	p.Set("Codename", r.suite)
	p.Set("Date", r.date)
	p.Set("Acquire-By-Hash", "yes")
	// Architecture-all packages are listed in every binary-ARCH index as
	// well, as in Debian's archive, so clients need not fetch binary-all.
	p.Set("No-Support-for-Architecture-all", "Packages")
	p.Set("Architectures", strings.Join(append([]string{"all"}, r.architectures...), " "))
	p.Set("Components", Component)
	p.Set("Description", r.description)
	p.Set("SHA256", "\n"+hashLines(files))
	var b bytes.Buffer
	writeParagraph(&b, p)
	return b.Bytes()
}

// hashLines lists files as " SUM SIZE PATH" lines, sorted by path.
func hashLines(files []indexFile) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b indexFile) int { return strings.Compare(a.path, b.path) })
	width := 0
	for _, f := range sorted {
		width = max(width, len(strconv.Itoa(f.size)))
	}
	lines := make([]string, len(sorted))
	for i, f := range sorted {
		lines[i] = fmt.Sprintf("%s %*d %s", f.sha256, width, f.size, f.path)
	}
	return strings.Join(lines, "\n")
}
