package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	debversion "pault.ag/go/debian/version"
)

// Revision is the Debian revision every version derived from git gets: the
// packages are built from this repository alone, so there is no separate
// packaging history to count.
const Revision = "1"

// Version is a Debian package version: [Epoch:]Upstream[-Revision].
type Version struct {
	// Epoch is 0 unless the versioning scheme ever has to go backwards.
	Epoch int
	// Upstream is the upstream part, e.g. "1.2.3+git4.gabcdef0".
	Upstream string
	// Revision is the Debian revision; empty makes the version native.
	Revision string
}

// String renders the version as it appears in a control file.
func (v Version) String() string {
	s := v.Upstream
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	if v.Epoch > 0 {
		s = strconv.Itoa(v.Epoch) + ":" + s
	}
	return s
}

// FileVersion renders the version as it appears in a .deb file name, where
// Debian leaves out the epoch.
func (v Version) FileVersion() string {
	return Version{Upstream: v.Upstream, Revision: v.Revision}.String()
}

// Validate checks the version against Debian policy §5.6.12 (through dpkg's
// own rules as pault.ag/go/debian implements them) and that it round-trips.
func (v Version) Validate() error {
	if v.Epoch < 0 {
		return fmt.Errorf("version %q: negative epoch", v)
	}
	if strings.Contains(v.Upstream, ":") {
		return fmt.Errorf("version %q: upstream part contains a colon; use the Epoch field", v)
	}
	if v.Revision == "" && strings.Contains(v.Upstream, "-") {
		return fmt.Errorf("version %q: a native version must not contain a hyphen", v)
	}
	if strings.ContainsFunc(v.Revision, func(r rune) bool { return !isRevisionChar(r) }) {
		return fmt.Errorf("version %q: revision may only contain letters, digits, '+', '.' and '~'", v)
	}
	p, err := debversion.Parse(v.String())
	if err != nil {
		return fmt.Errorf("version %q: %w", v, err)
	}
	if p.Version != v.Upstream || p.Revision != v.Revision || int(p.Epoch) != v.Epoch {
		return fmt.Errorf("version %q does not parse back into its parts", v)
	}
	return nil
}

// Compare orders two versions the way dpkg does: negative if v sorts before
// w, zero if they are equal, positive otherwise.
func (v Version) Compare(w Version) int {
	return debversion.Compare(v.debian(), w.debian())
}

func (v Version) debian() debversion.Version {
	return debversion.Version{Epoch: uint(max(v.Epoch, 0)), Version: v.Upstream, Revision: v.Revision}
}

func isRevisionChar(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '+' || r == '.' || r == '~'
}

var (
	// describeRe matches "TAG-N-gHASH", what git describe prints for a
	// commit after a tag.
	describeRe = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{4,64})$`)
	// hashRe matches what --always prints when no tag is reachable: an
	// abbreviated commit hash. A tag that looks like one is not supported.
	hashRe = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	// upstreamRe is what a tag must turn into: a digit, then Debian's
	// upstream characters without the hyphen.
	upstreamRe = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
)

// ParseGitDescribe turns the output of `git describe --tags --always --dirty`
// into a non-native Debian version that sorts the way the history does:
//
//	v1.2.3                    → 1.2.3-1
//	v1.2.3-4-gabcdef0         → 1.2.3+git4.gabcdef0-1   (after 1.2.3, before 1.2.4)
//	v1.2.3-rc.1               → 1.2.3~rc.1-1            (before 1.2.3)
//	v1.2.3-rc.1-2-gabcdef0    → 1.2.3~rc.1+git2.gabcdef0-1
//	abcdef0                   → 0~git.abcdef0-1         (no tag: before any release)
//
// A leading "v" is dropped and a semver pre-release hyphen becomes "~".
// "-dirty" (uncommitted changes on top of the commit) appends "+dirty":
// v1.2.3-dirty → 1.2.3+dirty-1 sorts after 1.2.3 and before 1.2.3+git1…,
// so versions keep following history, and a later commit always upgrades
// a dirty build. The clean build of the very same commit does not (that
// is a downgrade); dirty builds are for development only.
func ParseGitDescribe(s string) (Version, error) {
	in := strings.TrimSpace(s)
	rest, dirty := strings.CutSuffix(in, "-dirty")
	upstream, err := describeUpstream(rest)
	if err != nil {
		return Version{}, fmt.Errorf("git describe output %q: %w", in, err)
	}
	if dirty {
		upstream += "+dirty"
	}
	v := Version{Upstream: upstream, Revision: Revision}
	if err := v.Validate(); err != nil {
		return Version{}, fmt.Errorf("git describe output %q: %w", in, err)
	}
	return v, nil
}

// describeUpstream derives the upstream version from describe output
// without its "-dirty" suffix.
func describeUpstream(s string) (string, error) {
	if m := describeRe.FindStringSubmatch(s); m != nil {
		tag, err := tagUpstream(m[1])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s+git%s.g%s", tag, m[2], m[3]), nil
	}
	if hashRe.MatchString(s) {
		return "0~git." + s, nil
	}
	return tagUpstream(s)
}

// tagUpstream turns a release tag such as "v1.2.3" or "v1.2.3-rc.1" into
// an upstream version.
func tagUpstream(tag string) (string, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(tag, "v"), "V")
	t = strings.Replace(t, "-", "~", 1)
	if !upstreamRe.MatchString(t) {
		return "", fmt.Errorf("tag %q is not a version: want v1.2.3 or v1.2.3-rc.1 (digits first; letters, digits, '.', '+' and one '-')", tag)
	}
	return t, nil
}

// DescribeVersion runs git describe in dir and turns its answer into a
// Version with ParseGitDescribe. The hash is abbreviated to a fixed length
// so that clones of different sizes agree on the version. Tags must be
// fetched (in GitLab CI: GIT_DEPTH 0 or a fetch of tags), or the version
// falls back to 0~git.HASH.
func DescribeVersion(dir string) (Version, error) {
	out, err := git(dir, "describe", "--tags", "--always", "--dirty", "--abbrev=12")
	if err != nil {
		return Version{}, err
	}
	return ParseGitDescribe(out)
}

// SourceDateEpoch is the time every package built from dir is dated:
// $SOURCE_DATE_EPOCH when it is set, else the time of the last commit.
func SourceDateEpoch(dir string) (time.Time, error) {
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		return parseEpoch("SOURCE_DATE_EPOCH", s)
	}
	out, err := git(dir, "log", "-1", "--format=%ct")
	if err != nil {
		return time.Time{}, fmt.Errorf("no SOURCE_DATE_EPOCH and no commit time: %w", err)
	}
	return parseEpoch("commit time", out)
}

func parseEpoch(what, s string) (time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("%s %q: want seconds since 1970 as a non-negative integer", what, s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// git runs a git command in dir and returns its trimmed standard output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return "", fmt.Errorf("git %s in %s: empty output", strings.Join(args, " "), dir)
	}
	return s, nil
}
