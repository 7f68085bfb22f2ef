package bake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/command"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// bakeDir is the directory inside the root that holds, during the bake
// only, the repository's suite, its key, local packages and apt's source
// list; scrub removes it.
const bakeDir = "/invenio-bake"

// Paths inside the root during the bake.
const (
	bakeRepo     = bakeDir + "/repo"
	bakeKeyring  = bakeDir + "/keyring.gpg"
	bakeDebs     = bakeDir + "/debs"
	bakeNoParts  = bakeDir + "/no-parts"
	bakeList     = "/etc/apt/sources.list.d/invenio-bake.list"
	policyRcD    = "/usr/sbin/policy-rc.d"
	aptArchives  = "/var/cache/apt/archives"
	searchKey    = "/usr/share/keyrings/invenio-search.asc"
	searchSource = "/etc/apt/sources.list.d/invenio-search.sources"
)

// aptBinaryCaches are apt's binary caches of the package lists, which apt
// makes again whenever its sources or lists differ from what they hold.
var aptBinaryCaches = []string{"/var/cache/apt/pkgcache.bin", "/var/cache/apt/srcpkgcache.bin"}

// policyRcDScript forbids every daemon start while packages are installed
// (invoke-rc.d and deb-systemd-invoke ask it).
const policyRcDScript = "#!/bin/sh\n# invenio-infra image bake: no daemon starts in the image's root.\nexit 101\n"

// autoUpgrades turns on apt's daily list update and unattended-upgrades
// (which by default installs security updates only).
const autoUpgrades = `// invenio-infra: daily package lists and unattended security upgrades.
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
`

// resolvedConf turns off systemd-resolved's LLMNR and multicast DNS. The
// hosts reach each other by the addresses in the site file and resolve
// names by DNS and /etc/hosts; a name that any machine on the link may
// answer is a spoofing vector (LLMNR poisoning), and each host's firewall
// dropped its neighbours' queries anyway. Without them resolved sends
// nothing on the link and listens on neither port 5355 nor 5353.
const resolvedConf = `# invenio-infra: names come from DNS and /etc/hosts only.
[Resolve]
LLMNR=no
MulticastDNS=no
`

// imageFiles are the files every image gets, by path in the root.
var imageFiles = map[string]string{
	"/etc/cloud/cloud.cfg.d/90-invenio-infra.cfg":                seed.ImageCloudConfig,
	"/etc/systemd/system/ssh.service.d/50-invenio-hostkeys.conf": sshHostKeysDropIn,
	"/etc/ssh/sshd_config.d/50-invenio-hostkeys.conf":            sshdHostKeys,
	"/etc/apt/apt.conf.d/20auto-upgrades":                        autoUpgrades,
	"/etc/systemd/system/" + snakeoilService:                     snakeoilUnit,
	"/etc/systemd/resolved.conf.d/50-invenio.conf":               resolvedConf,
	"/etc/hostname": "localhost\n",
	"/etc/hosts":    "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n",
}

// inChroot mounts /proc in a private mount namespace (maintainer scripts
// such as systemd-sysusers need it; the mount ends with the namespace) and
// runs the command chrooted into the root, $0.
const inChroot = `mount -t proc proc "$0/proc" && exec chroot "$0" "$@"`

// ChrootArgs returns unshare's argv (without the command) that runs argv
// inside root.
func ChrootArgs(root string, argv ...string) []string {
	return append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", inChroot, root}, argv...)
}

// chrootEnv is the environment of commands in the root.
var chrootEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
	"LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", "DEBCONF_NONINTERACTIVE_SEEN=true",
}

// proxyVars are the variables of the caller's environment that reach
// commands in the root, so that apt there uses the same proxy as
// mmdebstrap did.
var proxyVars = []string{"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}

// chroot runs argv inside root and returns its combined output; a failure
// carries the output's tail.
func chroot(ctx context.Context, root string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "unshare", ChrootArgs(root, argv...)...)
	cmd.Env = slices.Clone(chrootEnv)
	for _, k := range proxyVars {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Dir = "/"
	return command.Run(cmd, command.Options{Label: "in the image's root: " + strings.Join(argv, " "), Tail: 30, Group: true})
}

// aptBase are the options of every apt-get call of the bake.
var aptBase = []string{"apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", "-o", "APT::Color=0"}

// AptUpdateArgs returns the argv that reads only the bake's own sources
// (the local repository, and the search engine's source if any) and keeps
// the Debian lists the base root came with.
func AptUpdateArgs() []string {
	return append(append(slices.Clone(aptBase), onlyBakeSources...), "-o", "APT::Get::List-Cleanup=false", "update")
}

// onlyBakeSources restricts apt to the bake's own sources.
var onlyBakeSources = []string{"-o", "Dir::Etc::SourceList=" + bakeList, "-o", "Dir::Etc::SourceParts=" + bakeNoParts}

// AptInstallArgs returns the argv that installs packages (by name, from
// the sources) and local .deb files (by their path in the root), without
// recommends, keeping any configuration already in the root. apt sees the
// bake's sources and the Debian lists the base root came with (signed, of
// the mirror state the base was built from), so the roles' Debian
// dependencies come from the same archive state as the base. dpkg does not
// fsync: the image is written from the root afterwards.
func AptInstallArgs(packages, debs []string) []string {
	a := append(slices.Clone(aptBase), "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
		"-o", "Dpkg::Options::=--force-unsafe-io", "install")
	return append(append(a, packages...), debs...)
}

// RepoSourceLine is the bake's apt source of the local repository's suite.
func RepoSourceLine(suite string) string {
	return fmt.Sprintf("deb [signed-by=%s] file:%s %s main", bakeKeyring, bakeRepo, suite)
}

// layer is the work on one copy of a base root.
type layer struct {
	root string
}

// p maps an absolute path inside the root to the host.
func (l layer) p(abs string) string { return filepath.Join(l.root, filepath.FromSlash(abs)) }

// write writes a file inside the root, making its directory.
func (l layer) write(abs, body string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(l.p(abs)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(l.p(abs), []byte(body), mode); err != nil {
		return err
	}
	return os.Chmod(l.p(abs), mode)
}

// stageRepo copies the suite of the repository at repo (dists and pool)
// and its keyring into the root.
func (l layer) stageRepo(ctx context.Context, repo, suite string) error {
	for _, d := range []string{"dists/" + suite, "pool/" + suite} {
		src := filepath.Join(repo, d)
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("repository %s has no suite %s (%w); run `invenio-infra repo` first", repo, suite, err)
		}
		dst := l.p(path.Join(bakeRepo, d))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", "--", src, dst).CombinedOutput(); err != nil {
			return fmt.Errorf("copying %s into the root: %w: %s", src, err, bytes.TrimSpace(out))
		}
	}
	key, err := os.ReadFile(filepath.Join(repo, roles.KeyringPackage+".gpg"))
	if err != nil {
		return fmt.Errorf("repository %s: its public key: %w", repo, err)
	}
	return l.write(bakeKeyring, string(key), 0o644)
}

// stageDebs copies local .deb files into the root and returns their paths
// there.
func (l layer) stageDebs(debs []string) ([]string, error) {
	var in []string
	for _, d := range debs {
		data, err := os.ReadFile(d)
		if err != nil {
			return nil, err
		}
		abs := path.Join(bakeDebs, filepath.Base(d))
		if err := l.write(abs, string(data), 0o644); err != nil {
			return nil, err
		}
		in = append(in, abs)
	}
	return in, nil
}

// prepare writes policy-rc.d, the bake's source list and its empty parts
// directory.
func (l layer) prepare(sources []string) error {
	if err := l.write(policyRcD, policyRcDScript, 0o755); err != nil {
		return err
	}
	if err := l.hostResolver(); err != nil {
		return err
	}
	if err := os.MkdirAll(l.p(bakeNoParts), 0o755); err != nil {
		return err
	}
	return l.write(bakeList, "# invenio-infra image bake only; removed before the image is made.\n"+strings.Join(sources, "\n")+"\n", 0o644)
}

// hostResolver gives the root the build host's /etc/resolv.conf while apt
// fetches what the package cache lacks: the base root's own points at
// systemd-resolved's stub, which does not run in a chroot. configure puts
// the image's link back.
func (l layer) hostResolver() error {
	body, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil // no resolver on the host: apt reaches only what needs no name
	}
	if err := os.Remove(l.p("/etc/resolv.conf")); err != nil && !os.IsNotExist(err) {
		return err
	}
	return l.write("/etc/resolv.conf", string(body), 0o644)
}

// install runs apt-get update (of the bake's sources only) and install in
// the root. With a package cache, the cached .deb files are offered to apt
// first (it checks each against the signed lists and downloads only what
// is missing or differs) and what it downloaded goes back into the cache.
func (l layer) install(ctx context.Context, packages, debs []string, cache string) (string, error) {
	out, err := chroot(ctx, l.root, AptUpdateArgs()...)
	if err != nil {
		return out, err
	}
	out2, err := l.installCached(ctx, packages, debs, cache)
	return out + out2, err
}

// installCached installs packages and local .deb files with the package
// lists the root has, offering the package cache to apt first and keeping
// what apt downloaded in it.
func (l layer) installCached(ctx context.Context, packages, debs []string, cache string) (string, error) {
	archives := l.p(aptArchives)
	if cache != "" {
		if err := linkDebs(cache, archives); err != nil {
			return "", fmt.Errorf("offering the package cache to apt: %w", err)
		}
	}
	out, err := chroot(ctx, l.root, AptInstallArgs(packages, debs)...)
	if err != nil || cache == "" {
		return out, err
	}
	if err := linkDebs(archives, cache); err != nil {
		return out, fmt.Errorf("keeping downloaded packages in the cache: %w", err)
	}
	return out, nil
}

// configure writes the files every image needs, points /etc/resolv.conf at
// systemd-resolved's stub and enables systemd-networkd, which netplan
// renders the seed's network to, and the snakeoil unit.
func (l layer) configure(ctx context.Context) error {
	for abs, body := range imageFiles {
		if err := l.write(abs, body, 0o644); err != nil {
			return err
		}
	}
	rc := l.p("/etc/resolv.conf")
	if err := os.Remove(rc); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Symlink("../run/systemd/resolve/stub-resolv.conf", rc); err != nil {
		return err
	}
	if _, err := chroot(ctx, l.root, "systemctl", "enable", "systemd-networkd.service", "systemd-resolved.service", snakeoilService); err != nil {
		return err
	}
	_, err := chroot(ctx, l.root, append([]string{"systemctl", "mask"}, MaskedUnits...)...)
	return err
}

// MaskedUnits are the units every image masks, each a first boot's cost
// for nothing: e2scrub_reap removes e2scrub's stale LVM snapshots, and the
// images have no LVM (minutes of CPU under emulation); cloud-config.service
// would start cloud-init's Python for a stage with no modules, as
// seed.ImageCloudConfig runs that stage's modules in the final stage.
var MaskedUnits = []string{"e2scrub_reap.service", "cloud-config.service"}

// finish removes what only the bake needed: policy-rc.d, the bake's
// sources and files.
func (l layer) finish() error {
	for _, abs := range []string{policyRcD, bakeList, bakeDir} {
		if err := os.RemoveAll(l.p(abs)); err != nil {
			return err
		}
	}
	return nil
}
