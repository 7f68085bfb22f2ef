package boottest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// Times of the rolling upgrade.
const (
	// hostUpgradeTimeout bounds one host's apt-get update and upgrade.
	hostUpgradeTimeout = 20 * time.Minute
	// rejoinTimeout bounds the wait for an upgraded web host to serve the
	// new release through the load balancer again.
	rejoinTimeout = 5 * time.Minute
)

// rolling is the state of the rolling upgrade, shared by its checks.
type rolling struct {
	// repo is release N+1's apt repository (DIR/apt) and url where the
	// test serves it.
	repo, url string
	// next is release N+1's package index of the instance's suite.
	next map[string]bake.IndexPackage
	// plan is what the upgrade is expected to change on each host.
	plan upgradePlan
	// data is what was written through the load balancer before.
	data written
	// edit is the administrator's edit of one conffile.
	edit adminEdit
	// before and after are the hashes of the rendered paths on each host.
	before, after map[string]map[string]string
	// hosts are the upgrades, in order.
	hosts []hostUpgrade
	// traffic is what the client saw while the hosts were upgraded.
	traffic *traffic
	total   time.Duration
}

// hostUpgrade is one host's upgrade.
type hostUpgrade struct {
	Host string
	// Start is since the upgrade's start; Apt the apt-get run, Rejoin
	// until the host served the new release through the load balancer.
	Start, Apt, Rejoin time.Duration
}

// upgradeChecks upgrades the instance to release N+1 host by host while a
// client sends requests through the load balancer, then checks what the
// issue of rolling upgrades asks: no failed request, one migration before
// the new code served, the data kept, the admin's edit kept, every unit
// active, and `invenio-infra diff` true to the hosts.
func (t *Test) upgradeChecks(ctx context.Context) {
	suite := t.in.Name + "/upgrade"
	r := &rolling{repo: filepath.Join(t.opts.UpgradeTo, "apt")}
	t.run(ctx, suite, "rolling upgrade: services host, then each web host, with apt-get upgrade from release N+1's repository", nil, t.upgradeCheck(r))
	t.run(ctx, suite, "rolling upgrade: no request through the load balancer failed", nil, t.trafficCheck(r))
	t.run(ctx, suite, "rolling upgrade: the migration ran exactly once, before any host served the new release", nil, t.migrationCheck(r))
	t.run(ctx, suite, "rolling upgrade: every record and file written before is read back after", nil, t.dataKeptCheck(r))
	t.run(ctx, suite, "rolling upgrade: the administrator's edit of a conffile kept, the new version beside it as .dpkg-dist", nil, t.confoldCheck(r))
	for _, g := range t.guests {
		t.run(ctx, suite, g.Host.Name+": after the upgrade every unit active, none failed", g, t.unitsCheck(g))
	}
	t.run(ctx, suite, "rolling upgrade: `invenio-infra diff` from N to N+1 is what changed on the hosts", nil, t.diffCheck(r))
}

// upgradeCheck prepares the upgrade (the repository served, data written,
// the conffile edited, the hosts' files hashed) and upgrades every host in
// turn while the client's requests flow.
func (t *Test) upgradeCheck(r *rolling) check {
	return func(ctx context.Context, out io.Writer) error {
		if err := t.prepareUpgrade(ctx, r, out); err != nil {
			return err
		}
		stop, err := t.serveRepo(r)
		if err != nil {
			return err
		}
		defer stop()
		r.traffic = t.startTraffic(ctx, r.data)
		start := time.Now()
		err = t.upgradeHosts(ctx, r, start, out)
		r.total = time.Since(start)
		r.traffic.stop()
		fmt.Fprintf(out, "upgrade of %d hosts: %.1fs; requests: %s\n", len(r.hosts), r.total.Seconds(), r.traffic.summary())
		t.upgradeFigures(r)
		// What the upgrade left is checked even when it stopped half-way:
		// the other checks say what went wrong on the hosts.
		after, herr := t.hashHosts(ctx, r.plan)
		r.after = after
		if err != nil {
			return err
		}
		return herr
	}
}

// prepareUpgrade reads release N+1's index, works out what it changes,
// writes records and files through the load balancer, edits a conffile as
// an administrator would and hashes every host's files.
func (t *Test) prepareUpgrade(ctx context.Context, r *rolling, out io.Writer) error {
	var err error
	if r.next, err = bake.RepoPackages(r.repo, t.in.Name); err != nil {
		return fmt.Errorf("release N+1 (--upgrade-to %s): %w", t.opts.UpgradeTo, err)
	}
	kr, ok := r.next[roles.KeyringPackage]
	if !ok {
		return fmt.Errorf("release N+1's repository %s has no %s in suite %s", r.repo, roles.KeyringPackage, t.in.Name)
	}
	from, err := t.installedVersion(ctx, t.guests[0], roles.KeyringPackage)
	if err != nil {
		return err
	}
	if r.plan, err = planUpgrade(t.work, t.site, t.upgradeSite(), t.in.Name, from, kr.Version.String()); err != nil {
		return err
	}
	fmt.Fprintf(out, "release N %s, release N+1 %s\n", from, kr.Version)
	if r.data, err = t.writeData(ctx, out); err != nil {
		return fmt.Errorf("writing data before the upgrade: %w", err)
	}
	if r.edit, err = t.editConffile(ctx, r.plan, out); err != nil {
		return err
	}
	r.before, err = t.hashHosts(ctx, r.plan)
	return err
}

// upgradeSite is release N+1's site: Options.UpgradeSite, else the same.
func (t *Test) upgradeSite() *site.Site {
	if t.opts.UpgradeSite != nil {
		return t.opts.UpgradeSite
	}
	return t.site
}

// serveRepo serves release N+1's repository over HTTP from the test
// client's address, inside the test network; stop ends it.
func (t *Test) serveRepo(r *rolling) (stop func(), err error) {
	if _, err := os.Stat(filepath.Join(r.repo, "dists", t.in.Name, "InRelease")); err != nil {
		return nil, fmt.Errorf("release N+1's repository has no signed suite %s: %w", t.in.Name, err)
	}
	l, err := t.nw.Listen("tcp", netip.AddrPortFrom(t.plan.Client, 0).String())
	if err != nil {
		return nil, fmt.Errorf("serving release N+1's repository: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(r.repo)), ReadHeaderTimeout: 30 * time.Second}
	// Serving ends with the upgrade (Close); its error then says nothing.
	go func() { _ = srv.Serve(l) }()
	r.url = "http://" + l.Addr().String()
	return func() { srv.Close() }, nil
}

// upgradeOrder is the hosts in the order they are upgraded: services
// hosts first, then the web hosts in site order.
func (t *Test) upgradeOrder() []*guest {
	var svc, web []*guest
	for _, g := range t.guests {
		if g.Has(site.RoleWeb) {
			web = append(web, g)
		} else {
			svc = append(svc, g)
		}
	}
	return append(svc, web...)
}

// upgradeHosts upgrades each host in turn and, for a web host, waits until
// it serves the new release through the load balancer before the next.
func (t *Test) upgradeHosts(ctx context.Context, r *rolling, start time.Time, out io.Writer) error {
	for _, g := range t.upgradeOrder() {
		u := hostUpgrade{Host: g.Host.Name, Start: time.Since(start)}
		r.traffic.upgrading(g.Host.Name)
		log, err := t.aptUpgrade(ctx, g, r)
		u.Apt = time.Since(start) - u.Start
		fmt.Fprintf(out, "--- %s: apt-get upgrade %.1fs after the start, took %.1fs\n%s", g.Host.Name, u.Start.Seconds(), u.Apt.Seconds(), tail(log, 40))
		if err != nil {
			r.hosts = append(r.hosts, u)
			return fmt.Errorf("%s: %w", g.Host.Name, err)
		}
		if err := t.checkVersions(ctx, g, r.next); err != nil {
			return err
		}
		if g.Has(site.RoleWeb) {
			if err := r.traffic.waitForNew(ctx, g.Host.Name, rejoinTimeout); err != nil {
				return fmt.Errorf("%s did not serve release N+1 through the load balancer within %s of its upgrade: %w", g.Host.Name, rejoinTimeout, err)
			}
		}
		u.Rejoin = time.Since(start) - u.Start - u.Apt
		r.hosts = append(r.hosts, u)
		t.log.Info("upgraded", "host", g.Host.Name, "apt_seconds", u.Apt.Seconds(), "rejoin_seconds", u.Rejoin.Seconds())
	}
	r.traffic.upgrading("")
	return nil
}

// aptUpgrade points the host's apt at release N+1's repository and runs
// apt-get upgrade as an administrator would, keeping locally changed
// conffiles (dpkg puts the package's new version beside them as
// .dpkg-dist). It refuses an upgrade that keeps packages back.
func (t *Test) aptUpgrade(ctx context.Context, g *guest, r *rolling) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, hostUpgradeTimeout)
	defer cancel()
	out, err := g.run(ctx, aptUpgradeScript(r.url, t.in.Name))
	if err != nil {
		return out, err
	}
	if strings.Contains(out, "kept back") {
		return out, errors.New("apt-get upgrade kept packages back: release N+1 needs what upgrade does not install")
	}
	if g.Has(site.RoleWeb) && !strings.Contains(out, roles.AptDrainSays) {
		return out, fmt.Errorf("apt's hook (%s) did not drain the host before dpkg unpacked the upgrade: no %q in apt's output", roles.AptDrainHook, roles.AptDrainSays)
	}
	return out, nil
}

// aptUpgradeScript is what an administrator runs on a host: release N+1's
// repository as the host's only apt source for this upgrade (the key the
// host already trusts signs it; no file of the packages is touched), then
// a non-interactive upgrade that answers dpkg's conffile question as an
// administrator keeping local edits does.
func aptUpgradeScript(url, suite string) string {
	return `set -e
export DEBIAN_FRONTEND=noninteractive
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir "$d/parts"
echo ` + escape.Shell("deb [signed-by="+roles.KeyringPath+"] "+url+" "+suite+" main") + ` > "$d/upgrade.list"
apt() { apt-get -q -o Dir::Etc::SourceList="$d/upgrade.list" -o Dir::Etc::SourceParts="$d/parts" -o APT::Get::List-Cleanup=false "$@" 2>&1; }
apt update
apt -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade
`
}

// installedVersion is the version of a package installed on g.
func (t *Test) installedVersion(ctx context.Context, g *guest, pkg string) (string, error) {
	v, err := g.run(ctx, "dpkg-query -W -f '${Version}' "+escape.Shell(pkg))
	if err != nil {
		return "", fmt.Errorf("%s: version of %s: %w", g.Host.Name, pkg, err)
	}
	return strings.TrimSpace(v), nil
}

// checkVersions requires every package of release N+1 that g has
// installed at release N+1's version.
func (t *Test) checkVersions(ctx context.Context, g *guest, next map[string]bake.IndexPackage) error {
	out, err := g.run(ctx, "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n'")
	if err != nil {
		return fmt.Errorf("%s: dpkg-query: %w", g.Host.Name, err)
	}
	var stale []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[2], "i") {
			continue
		}
		p, ok := next[f[0]]
		if ok && p.Version.String() != f[1] {
			stale = append(stale, f[0]+" "+f[1])
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s: not at release N+1's version after the upgrade: %s", g.Host.Name, strings.Join(stale, ", "))
	}
	return nil
}

// upgradeFigures records the measured figures of the upgrade.
func (t *Test) upgradeFigures(r *rolling) {
	for _, u := range r.hosts {
		t.figure("upgrade of %s: apt-get upgrade %.1fs, back in the load balancer with release N+1 %.1fs later", u.Host, u.Apt.Seconds(), u.Rejoin.Seconds())
	}
	t.figure("rolling upgrade of %d host(s): %.1fs; requests through the load balancer meanwhile: %s", len(r.hosts), r.total.Seconds(), r.traffic.summary())
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n") + "\n"
}

// notRan is the error of a check whose upgrade did not start, or whose
// hosts could not be read after it.
func (r *rolling) notRan() error {
	if r.traffic != nil && r.after != nil {
		return nil
	}
	return errors.New("the upgrade did not start, or its hosts could not be read after it (see the upgrade check)")
}
