package boottest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// check is a check's body.
type check func(ctx context.Context, out io.Writer) error

// checks runs every check, host by host, then across the instance, then
// the services host's reboot, the rolling upgrade when asked for, and the
// failover (which powers a web host off, so it comes last).
func (t *Test) checks(ctx context.Context) {
	usersRead := map[*guest]*pending{}
	for _, g := range t.guests {
		if g.Has(site.RoleServices) {
			usersRead[g] = g.background(ctx, rabbitUsers)
		}
	}
	for _, g := range t.guests {
		suite := t.in.Name + "/" + g.Host.Name
		t.run(ctx, suite, "ready within budget", g, t.readyCheck(g))
		t.run(ctx, suite, "every unit active, none failed", g, t.unitsCheck(g))
		t.run(ctx, suite, "seed applied: host name, secrets, TLS keys, host keys and machine-id made here", g, t.seedCheck(g))
		if g.Has(site.RoleServices) {
			t.run(ctx, suite, "search engine green or yellow", g, t.searchCheck(g))
			t.run(ctx, suite, "search engine: creates only InvenioRDM's statistics indices on the fly", g, t.searchAutoCreateCheck(g))
			t.run(ctx, suite, "search engine: a snapshot by invenio-search-snapshot", g, t.searchSnapshotCheck(g))
			// From the test client, through a hole in the firewall for the
			// check: each daemon refuses by itself too (firewallCheck proves
			// the port closed without the hole).
			t.run(ctx, suite, "postgresql: scram for the app role, from web hosts only", g, t.throughFirewall(g, 5432, t.postgresCheck(g)))
			t.run(ctx, suite, "redis: refuses commands without auth", g, t.throughFirewall(g, 6379, t.redisCheck(g)))
			t.run(ctx, suite, "redis sessions: refuses commands without auth, never evicts", g, t.sessionsRedisCheck(g))
			t.run(ctx, suite, "rabbitmq: app user on its vhost, guest refused", g, t.throughFirewall(g, 5672, t.rabbitCheck(g, usersRead[g])))
			t.run(ctx, suite, "exim: refuses to relay for other hosts", g, t.throughFirewall(g, 25, t.eximRefusesCheck(g)))
		}
		if g.Has(site.RoleWeb) {
			t.run(ctx, suite, "nginx: /ping and /api/ping over TLS on :8080", g, t.webPingCheck(g))
		}
	}
	suite := t.in.Name
	t.run(ctx, suite, "no two hosts share a machine-id or host key; no secret on a console", nil, t.uniqueCheck())
	t.run(ctx, suite, "firewall: service ports closed from the test client, open from the web hosts; :8080 only from the load balancer", nil, t.firewallCheck())
	t.run(ctx, suite, "load balancer: /ping and /api/ping", nil, t.lbPingCheck())
	t.run(ctx, suite, "nginx and the application: the client's address behind the load balancer, a forged one ignored", nil, t.clientAddressCheck())
	t.run(ctx, suite, "set-up: exactly once, by one web host (journal and database)", nil, t.setupOnceCheck())
	t.run(ctx, suite, "set-up: search indices and custom fields", nil, t.searchSetupCheck())
	t.run(ctx, suite, "admin: the first administrator logs in", nil, t.adminLoginCheck())
	t.run(ctx, suite, "postgresql: record written and read back", nil, t.recordCheck())
	t.run(ctx, suite, "nginx: a JSON answer gzip-compressed through the load balancer", nil, t.gzipCheck())
	t.run(ctx, suite, "celery: task through rabbitmq, result from redis", nil, t.taskCheck())
	t.run(ctx, suite, "celery beat: runs on exactly one host", nil, t.beatCheck())
	t.run(ctx, suite, "shared storage: a file written on one web host is stored in the database's files location and read on another", nil, t.storageCheck())
	t.run(ctx, suite, "files: a record holding the legacy files path is still read", nil, t.legacyPathCheck())
	t.run(ctx, suite, "nginx and uwsgi: a 200 MB upload streamed to the application, no temporary copy on the root disk", nil, t.largeUploadCheck())
	t.run(ctx, suite, "application secrets: each value reaches the application exactly; invenio-secrets keys names the missing", nil, t.appSecretsCheck())
	t.run(ctx, suite, "exim: relays mail from web hosts to the smarthost", nil, t.mailCheck())
	t.run(ctx, suite, "drain: invenio-drain takes a web host out of the load balancer and back, no request lost", nil, t.drainCheck())
	t.run(ctx, suite, "services host reboot: web tier recovers untouched", nil, t.rebootCheck())
	if t.opts.UpgradeTo != "" {
		start := time.Now()
		t.upgradeChecks(ctx)
		t.mu.Lock()
		t.upgradeTook = time.Since(start)
		t.mu.Unlock()
	}
	t.run(ctx, suite, "failover: a web host powered off, requests keep succeeding", nil, t.failoverCheck())
}

// run runs one check with the guest's serial log attached.
func (t *Test) run(ctx context.Context, suite, name string, g *guest, c check) {
	var att []string
	if g != nil {
		att = t.attachment(g)
	}
	t.runner.Run(ctx, junit.Check{Suite: suite, Name: name, Attachments: att, Run: c})
}

// readyCheck holds the power-on-to-ready time against the role's budget.
func (t *Test) readyCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		b := t.budget(g)
		fmt.Fprintf(out, "power-on to ready: %.1fs (budget %s, %s)\n", g.Ready.Seconds(), b, t.accel.Accel)
		t.figure("%s (%s): power-on to ready %.1fs (budget %s, %s)", g.Host.Name, roleNames(g.Host), g.Ready.Seconds(), b, t.accel.Accel)
		// Where the time went, as the guest's systemd saw it.
		if a, err := g.run(ctx, "systemd-analyze time; systemd-analyze blame --no-pager | head -n 8"); err == nil {
			fmt.Fprint(out, a)
		}
		g.mu.Lock()
		cpu := g.cpuAtReady
		g.mu.Unlock()
		fmt.Fprint(out, cpu)
		if cpu != "" {
			t.figure("%s at ready: %s", g.Host.Name, strings.ReplaceAll(strings.TrimSuffix(cpu, "\n"), "\n", "\n    "))
		}
		if g.Ready > b {
			return fmt.Errorf("ready after %.1fs, over the %s budget (%s)", g.Ready.Seconds(), b, t.accel.Accel)
		}
		return nil
	}
}

// roleNames joins a host's roles, e.g. "web+services".
func roleNames(h site.Host) string {
	var out []string
	for _, r := range h.Roles {
		out = append(out, string(r))
	}
	return strings.Join(out, "+")
}

// expectedUnits are the units a host's roles must have active (as roles
// knows them), and, when the image carries only a stand-in for the search
// engine, the units that cannot work without it: the engine's own and the
// snapshot service, which fails whenever its daily timer fires during a
// test (at 02:30 plus up to 30 minutes, the guests' clock being the
// test's).
func (t *Test) expectedUnits(g *guest) (want, standIn []string) {
	engine := roles.SearchUnit(t.site)
	stand := t.searchStandIn(g)
	for _, u := range roles.HostUnits(t.site, t.in, g.Host) {
		if u == engine && stand {
			standIn = append(standIn, u, roles.SearchSnapshotService)
			continue
		}
		want = append(want, u)
	}
	return want, standIn
}

// failedUnits judges the units systemd lists as failed: each is a problem,
// but the units in standIn, which are noted in out instead.
func failedUnits(failed, standIn []string, out io.Writer) (problems []string) {
	for _, u := range failed {
		if slices.Contains(standIn, u) {
			fmt.Fprintf(out, "%s failed: it needs the search engine, and the image carries a STAND-IN for it\n", u)
			continue
		}
		problems = append(problems, u+" failed")
	}
	return problems
}

// searchStandIn reports whether the guest's image carries a stand-in for
// the search engine.
func (t *Test) searchStandIn(g *guest) bool {
	for _, s := range g.Manifest.StandIns {
		if s == string(t.site.Search.Engine) {
			return true
		}
	}
	return false
}

// unitsCheck checks the role's units are active, the provisioning ran,
// the shared storage is mounted, and no unit failed (but a stand-in's).
func (t *Test) unitsCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		want, standIn := t.expectedUnits(g)
		var problems []string
		states, _ := g.run(ctx, "systemctl is-active "+strings.Join(want, " "))
		lines := strings.Fields(states)
		for i, u := range want {
			st := "unknown"
			if i < len(lines) {
				st = lines[i]
			}
			fmt.Fprintf(out, "%-32s %s\n", u, st)
			if st != "active" {
				problems = append(problems, u+" "+st)
			}
		}
		problems = append(problems, t.provisioned(ctx, g, out)...)
		problems = append(problems, t.mounted(ctx, g, out)...)
		failed, err := g.run(ctx, "systemctl --failed --no-legend --plain | awk '{print $1}'")
		if err != nil {
			return err
		}
		problems = append(problems, failedUnits(strings.Fields(failed), standIn, out)...)
		if len(problems) > 0 {
			t.journals(ctx, g, out, problems)
			return fmt.Errorf("%s", strings.Join(problems, ", "))
		}
		return nil
	}
}

// journals writes the status and last journal lines of the units named
// first in problems ("UNIT state") to out, for the report.
func (t *Test) journals(ctx context.Context, g *guest, out io.Writer, problems []string) {
	for _, p := range problems {
		u, _, _ := strings.Cut(p, " ")
		if !strings.Contains(u, ".") {
			continue
		}
		j, _ := g.run(ctx, "systemctl status --no-pager --lines=0 "+escape.Shell(u)+"; journalctl --no-pager -b -n 40 -u "+escape.Shell(u))
		fmt.Fprintf(out, "--- %s\n%s", u, j)
	}
}

// provisioned checks the services host's provisioning unit ran and succeeded.
func (t *Test) provisioned(ctx context.Context, g *guest, out io.Writer) []string {
	if !g.Has(site.RoleServices) {
		return nil
	}
	show, err := g.run(ctx, "systemctl show -p Result -p ExecMainStatus -p ExecMainExitTimestampMonotonic invenio-provision.service")
	fmt.Fprintf(out, "invenio-provision.service: %s\n", strings.Join(strings.Fields(show), " "))
	if err != nil || !strings.Contains(show, "Result=success") || !strings.Contains(show, "ExecMainStatus=0") ||
		strings.Contains(show, "ExecMainExitTimestampMonotonic=0\n") {
		return []string{"invenio-provision.service did not run to success"}
	}
	return nil
}

// mounted checks a web host has the shared storage mounted (when the
// storage is shared between hosts).
func (t *Test) mounted(ctx context.Context, g *guest, out io.Writer) []string {
	st := t.site.Storage
	if !g.Has(site.RoleWeb) || st.Type == site.StorageNone || st.Type == "" {
		return nil
	}
	if t.site.LocalStorage(t.in) {
		// One host serves itself: the storage is a local directory.
		fmt.Fprintf(out, "%s: a local directory (the services host is this web host)\n", st.Mountpoint)
		return nil
	}
	fs, err := g.run(ctx, "findmnt -n -o FSTYPE,SOURCE --mountpoint "+escape.Shell(st.Mountpoint))
	fmt.Fprintf(out, "%s: %s\n", st.Mountpoint, strings.TrimSpace(fs))
	if err != nil {
		return []string{st.Mountpoint + " not mounted"}
	}
	return nil
}

// searchCheck asks the engine for its cluster health, or skips with the
// reason when the image carries a stand-in.
func (t *Test) searchCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		if t.searchStandIn(g) {
			return junit.Skipf("no %s package is available here: the image carries a STAND-IN, so the engine's health cannot be checked", t.site.Search.Engine)
		}
		health, err := g.run(ctx, "curl -fsS --max-time 10 'http://localhost:9200/_cluster/health?wait_for_status=yellow&timeout=60s'")
		fmt.Fprintln(out, health)
		if err != nil {
			return err
		}
		if !strings.Contains(health, `"status":"green"`) && !strings.Contains(health, `"status":"yellow"`) {
			return fmt.Errorf("cluster health: %s", strings.TrimSpace(health))
		}
		return nil
	}
}

// poll calls f every interval until it returns nil or timeout passes; it
// returns f's last error.
func poll(ctx context.Context, timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}
