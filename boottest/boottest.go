// Package boottest boots an instance's role images in QEMU, each with its
// cloud-init seed, on a network the test creates (a network namespace with
// a bridge and a tap device per VM; see package topology), and checks that
// the roles work together through the real request path: the load
// balancer standing in for the F5 (HAProxy, health check HEAD /ping),
// NGINX with TLS on :8080, uWSGI's UI and API applications, Celery through
// RabbitMQ with results in Redis, PostgreSQL, Exim relaying to the site's
// smarthost, and shared storage. It also powers off a web VM while
// requests flow (failover) and reboots the services VM (recovery).
//
// Everything the guests talk to lives in the namespace: the test client,
// the load balancer, a name server that knows only the smarthost's name,
// and an SMTP sink standing in for the smarthost. Nothing is sent anywhere
// else. The test's SSH key, TLS authority and secrets are made for the
// run and never written outside its work directory.
//
// Results are checks (internal/junit): one summary line each, a JUnit
// report, and every VM's serial console log kept beside it.
package boottest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// DefaultCPUs are the virtual CPUs of a role's guests; a host with several
// roles gets the most of its roles'. Under TCG every virtual CPU is a host
// thread: on a small runner that boots three guests on two cores, two per
// web guest only added threads (cloud-init's first stage started 66-78 s
// after power-on with one, 114-125 s with two), while the services host,
// last to be ready and alone while it reboots, can use a second core.
var DefaultCPUs = map[site.Role]int{site.RoleWeb: 1, site.RoleServices: 2}

// DefaultBudgets are the power-on-to-ready targets per role; a host with
// several roles gets the largest of its roles'.
var DefaultBudgets = map[site.Role]time.Duration{
	site.RoleWeb:      40 * time.Second,
	site.RoleServices: 60 * time.Second,
}

// Options describe one boot test.
type Options struct {
	// Site is the validated site the images were built from.
	Site *site.Site
	// Instance names the instance under test.
	Instance string
	// Images is the directory of the role images (`release`'s DIR/images).
	Images string
	// Work holds the VMs' overlays and seeds; default a temporary directory,
	// removed at the end.
	Work string
	// Report is the JUnit file to write; empty for none. The serial logs go
	// to LogDir, default the report's name without .xml.
	Report, LogDir string
	// Accel forces an accelerator; empty probes (KVM only when a guest
	// makes progress under it, else TCG).
	Accel vm.Accel
	// Firmware is BIOS (default) or UEFI.
	Firmware vm.Firmware
	// CPUs override DefaultCPUs per role.
	CPUs map[site.Role]int
	// Budgets override DefaultBudgets per role.
	Budgets map[site.Role]time.Duration
	// BootTimeout bounds each guest's first boot, default 20 minutes; a
	// guest whose budget is longer is waited for until its budget ends, so
	// that a slow boot fails as over its budget, with the time it took.
	BootTimeout time.Duration
	// NoFailover and NoReboot leave out the failover and the services
	// host's reboot (reported as skipped).
	NoFailover, NoReboot bool
	// UpgradeTo is release N+1's output directory (`release --out`): after
	// the other checks and before the failover, the hosts are upgraded to
	// its repository (DIR/apt) one by one while requests flow (see
	// upgradeChecks); empty for no upgrade.
	UpgradeTo string
	// UpgradeSite is the site release N+1 was built from, for comparing
	// what `invenio-infra diff` says it changes with the hosts; nil: Site.
	UpgradeSite *site.Site
	// Out gets one line per check; nil prints nothing.
	Out io.Writer
	// Log gets progress; default none.
	Log *slog.Logger
}

// Result is what a boot test found.
type Result struct {
	// Passed, Failed and Skipped count the checks.
	Passed, Failed, Skipped int
	// Ready is each host's power-on-to-ready time.
	Ready map[string]time.Duration
	// Accel is the accelerator used and why.
	Accel vm.Choice
	// Duration is the whole test's time.
	Duration time.Duration
	// Report is the JUnit document (also written to Options.Report).
	Report junit.Testsuites
	// Figures are the measured figures, one per line: readiness per host,
	// the services host's reboot and the failover, the whole test's time.
	Figures []string
}

// Test is one running boot test.
type Test struct {
	opts    Options
	site    *site.Site
	in      site.Instance
	plan    topology.Plan
	nw      *topology.Network
	key     sshKey
	secrets seed.Secrets
	secret  map[string]string
	// appSecrets are the application's secrets the web hosts' seeds carry.
	appSecrets seed.AppSecrets
	pki        *PKI
	tlsKey     []byte // the web hosts' TLS key, to search the consoles for
	accel      vm.Choice
	guests     []*guest
	lb         *topology.HAProxy
	lbAddr     string
	sink       *mailSink
	dns        *nameServer
	urlHost    string
	runner     *junit.Runner
	log        *slog.Logger
	work       string

	mu      sync.Mutex
	figures []string
	// upgradeTook is the rolling upgrade's share of the whole test.
	upgradeTook time.Duration
}

// figure records one measured figure for the summary.
func (t *Test) figure(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.figures = append(t.figures, fmt.Sprintf(format, a...))
}

// Run boots the instance and runs every check. The error is for a test
// that could not run at all; failed checks are counted in the Result (and
// make Run return ErrChecksFailed).
func Run(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	t, err := prepare(o)
	if err != nil {
		return Result{}, err
	}
	defer t.cleanup()
	t.accel = chooseAccel(ctx, o.Accel)
	t.log.Info("boot test", "instance", t.in.Name, "hosts", len(t.guests), "accelerator", t.accel.String())
	if err := t.setUp(ctx); err != nil {
		return Result{Accel: t.accel}, err
	}
	t.checks(ctx)
	res := t.result(start)
	if err := t.writeReport(res); err != nil {
		return res, err
	}
	if res.Failed > 0 {
		// The failed checks' lines end the error too: a CI log that keeps
		// only its last lines still names what failed.
		return res, fmt.Errorf("%w: %s: %s", ErrChecksFailed, t.runner.Summary(),
			strings.Join(t.runner.FailedLines(400), "; "))
	}
	return res, nil
}

// ErrChecksFailed is returned by Run when a check failed.
var ErrChecksFailed = errors.New("boot test failed")

// chooseAccel returns the forced accelerator or the probe's choice.
func chooseAccel(ctx context.Context, a vm.Accel) vm.Choice {
	if a != "" {
		return vm.Choice{Accel: a, Reason: "chosen with --accel"}
	}
	return vm.ChooseAccel(ctx)
}

// prepare checks the options and finds every host's image.
func prepare(o Options) (*Test, error) {
	if o.Site == nil || o.Instance == "" || o.Images == "" {
		return nil, errors.New("boot test: site, instance and images are required")
	}
	in, err := o.Site.FindInstance(o.Instance)
	if err != nil {
		return nil, fmt.Errorf("boot test: %w", err)
	}
	plan, err := topology.PlanFor(in)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(in.URL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("boot test: instance %s: URL %q has no host name", in.Name, in.URL)
	}
	if o.BootTimeout == 0 {
		o.BootTimeout = 20 * time.Minute
	}
	if o.Firmware == "" {
		o.Firmware = vm.BIOS
	}
	t := &Test{opts: o, site: o.Site, in: in, plan: plan, urlHost: u.Hostname(),
		runner: &junit.Runner{Out: o.Out}, log: o.Log}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	sz := o.Site.EffectiveSizing(in)
	for _, h := range in.Hosts {
		img, man, err := findImage(o.Site, in, h, o.Images)
		if err != nil {
			return nil, fmt.Errorf("boot test: %w", err)
		}
		hn, _ := plan.Host(h.Name)
		t.guests = append(t.guests, &guest{Host: h, Net: hn, Image: img, Manifest: man, Memory: memoryMiB(h, sz), t: t})
	}
	return t, nil
}

// setUp makes the run's keys and secrets, the network with its name
// server, SMTP sink and load balancer, and boots every guest.
func (t *Test) setUp(ctx context.Context) error {
	if err := t.makeWork(); err != nil {
		return err
	}
	var err error
	if t.key, err = newSSHKey(); err != nil {
		return err
	}
	if t.secrets, err = seed.GenerateSecrets(roles.SecretKeys()); err != nil {
		return err
	}
	if t.secrets, err = withAdmin(t.secrets); err != nil {
		return err
	}
	if t.appSecrets, err = appSecrets(t.site); err != nil {
		return err
	}
	t.secret = map[string]string{}
	for i, k := range t.secrets.Keys() {
		t.secret[k] = t.secrets.Values()[i]
	}
	if t.pki, err = NewPKI(t.in.Name); err != nil {
		return err
	}
	if t.nw, err = topology.New(ctx, t.plan); err != nil {
		return err
	}
	if err := t.startServices(); err != nil {
		return err
	}
	if err := t.boot(ctx); err != nil {
		return err
	}
	return t.startLB(ctx)
}

// makeWork creates the work directory and a directory per guest.
func (t *Test) makeWork() error {
	t.work = t.opts.Work
	if t.work == "" {
		dir, err := os.MkdirTemp("", "invenio-boot-test-")
		if err != nil {
			return err
		}
		t.work = dir
	}
	for _, g := range t.guests {
		g.Dir = filepath.Join(t.work, g.Host.Name)
		if err := os.MkdirAll(g.Dir, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// startServices starts the name server and the SMTP sink on the test
// client's address.
func (t *Test) startServices() error {
	host, port := smarthostAddr(t.site.Mail.Smarthost)
	var err error
	t.dns, err = startNameServer(t.nw, t.plan.Client, map[string]netip.Addr{host: t.plan.Client})
	if err != nil {
		return err
	}
	t.sink, err = startSink(t.nw, netip.AddrPortFrom(t.plan.Client, port))
	return err
}

// boot powers every guest on at once and waits for each to be ready.
func (t *Test) boot(ctx context.Context) error {
	web := t.webNames()
	addrs := t.webAddrs()
	cert, key, err := t.pki.Issue(append([]string{t.urlHost}, web...), addrs)
	if err != nil {
		return err
	}
	t.tlsKey = key
	for _, g := range t.guests {
		if err := g.start(ctx, cert, key); err != nil {
			return err
		}
		t.log.Info("powered on", "host", g.Host.Name, "image", filepath.Base(g.Image), "memory_mib", g.Memory, "cpus", t.cpus(g))
	}
	errs := inParallel(len(t.guests), func(i int) error {
		g := t.guests[i]
		if err := g.waitReady(ctx, max(t.opts.BootTimeout, t.budget(g))); err != nil {
			return err
		}
		t.log.Info("ready", "host", g.Host.Name, "seconds", g.Ready.Seconds())
		return nil
	})
	return errors.Join(errs...)
}

// startLB runs HAProxy on the load balancer's address with a certificate
// for the instance's public name.
func (t *Test) startLB(ctx context.Context) error {
	cert, key, err := t.pki.Issue([]string{t.urlHost}, []netip.Addr{t.plan.LB})
	if err != nil {
		return err
	}
	pemFile := filepath.Join(t.work, "lb.pem")
	if err := os.WriteFile(pemFile, append(cert, key...), 0o600); err != nil {
		return err
	}
	cfg, err := topology.LBFor(t.plan, t.in, pemFile)
	if err != nil {
		return err
	}
	text, err := topology.HAProxyConfig(cfg)
	if err != nil {
		return err
	}
	if t.lb, err = topology.StartHAProxy(ctx, t.nw.Namespace, t.work, text); err != nil {
		return err
	}
	t.lbAddr = cfg.Bind.String()
	return nil
}

// cleanup powers everything off, keeps the serial logs and removes the
// network and the work directory (unless it was given).
func (t *Test) cleanup() {
	for _, g := range t.guests {
		g.close()
	}
	if t.lb != nil {
		t.lb.Stop()
	}
	if t.sink != nil {
		t.sink.Close()
	}
	if t.dns != nil {
		t.dns.Close()
	}
	if t.nw != nil {
		if err := t.nw.Close(); err != nil {
			t.log.Warn("removing the test network", "err", err)
		}
	}
	if t.opts.Work == "" && t.work != "" {
		os.RemoveAll(t.work)
	}
}

// webNames and webAddrs list the web hosts' names and addresses.
func (t *Test) webNames() []string {
	var out []string
	for _, h := range t.plan.Web() {
		out = append(out, h.Name)
	}
	return out
}

func (t *Test) webAddrs() []netip.Addr {
	var out []netip.Addr
	for _, h := range t.plan.Web() {
		out = append(out, h.Addr)
	}
	return out
}

// webGuests returns the guests with the web role, in site order.
func (t *Test) webGuests() []*guest {
	return slices.DeleteFunc(slices.Clone(t.guests), func(g *guest) bool { return !g.Has(site.RoleWeb) })
}

// servicesGuest returns the instance's services host.
func (t *Test) servicesGuest() *guest {
	for _, g := range t.guests {
		if g.Has(site.RoleServices) {
			return g
		}
	}
	return nil
}

// client returns an HTTPS client in the namespace that trusts only the
// run's authority and expects the instance's public name.
func (t *Test) client() *http.Client {
	c := t.nw.HTTPClient(t.pki.ClientTLS(t.urlHost))
	c.Timeout = 30 * time.Second
	return c
}

// budget is g's power-on-to-ready budget: the largest of its roles'.
func (t *Test) budget(g *guest) time.Duration {
	return roleMax(g.Host.Roles, t.opts.Budgets, DefaultBudgets, 0)
}

// cpus is the number of virtual CPUs of g's guest: the most of its roles'.
func (t *Test) cpus(g *guest) int {
	return roleMax(g.Host.Roles, t.opts.CPUs, DefaultCPUs, 1)
}

// roleMax is the largest value of roles, each taken from override or else
// from defaults, and at least floor.
func roleMax[T cmp.Ordered](roles []site.Role, override, defaults map[site.Role]T, floor T) T {
	v := floor
	for _, r := range roles {
		x, ok := override[r]
		if !ok {
			x = defaults[r]
		}
		v = max(v, x)
	}
	return v
}

// wholeTarget is the time the whole instance test of an instance with
// hosts guests should take under emulation (TCG), boot to last check: the
// anchor its figure is printed beside. A test over it does not fail: the
// readiness budgets guard against regressions, this states where the work
// on boot speed aims.
func wholeTarget(hosts int) time.Duration {
	if hosts == 1 {
		return 150 * time.Second
	}
	return 6 * time.Minute
}

// result collects the counts, times and the JUnit document.
func (t *Test) result(start time.Time) Result {
	p, f, s := t.runner.Count()
	res := Result{Passed: p, Failed: f, Skipped: s, Accel: t.accel, Duration: time.Since(start), Ready: map[string]time.Duration{}}
	for _, g := range t.guests {
		res.Ready[g.Host.Name] = g.Ready
	}
	t.mu.Lock()
	whole := fmt.Sprintf("whole instance test (%d hosts, %s): %.1fs, %d passed, %d failed, %d skipped",
		len(t.guests), t.accel.Accel, res.Duration.Seconds(), p, f, s)
	if t.upgradeTook > 0 {
		// The target predates the rolling upgrade: the time without it is
		// the figure to hold against it.
		whole += fmt.Sprintf("; %.1fs without the rolling upgrade's %.1fs", (res.Duration - t.upgradeTook).Seconds(), t.upgradeTook.Seconds())
	}
	res.Figures = append(slices.Clone(t.figures), whole+fmt.Sprintf(" (target %s)", wholeTarget(len(t.guests))))
	t.mu.Unlock()
	res.Report = t.runner.Report("invenio-infra boot-test " + t.in.Name)
	return res
}

// writeReport writes the JUnit file and the serial logs beside it.
func (t *Test) writeReport(res Result) error {
	logDir := t.logDir()
	if logDir != "" {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return err
		}
		for _, g := range t.guests {
			if err := os.WriteFile(filepath.Join(logDir, g.Host.Name+".log"), []byte(g.console()), 0o644); err != nil {
				return err
			}
		}
		figures := strings.Join(res.Figures, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(logDir, "figures.txt"), []byte(figures), 0o644); err != nil {
			return err
		}
	}
	if t.opts.Report == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(t.opts.Report), 0o755); err != nil {
		return err
	}
	return res.Report.WriteFile(t.opts.Report)
}

// logDir is where serial logs go: LogDir, else beside the report.
func (t *Test) logDir() string {
	if t.opts.LogDir != "" {
		return t.opts.LogDir
	}
	if t.opts.Report != "" {
		return strings.TrimSuffix(t.opts.Report, filepath.Ext(t.opts.Report))
	}
	return ""
}

// attachment names a guest's serial log for the JUnit report.
func (t *Test) attachment(g *guest) []string {
	if d := t.logDir(); d != "" {
		return []string{filepath.Join(d, g.Host.Name+".log")}
	}
	return nil
}
