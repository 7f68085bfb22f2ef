package boottest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxListed bounds the failed requests a report lists one by one.
const maxListed = 40

// trafficCheck lists every request that failed while the hosts were
// upgraded, with its time and the host being upgraded. With two web hosts
// or more none may fail: each drains from the load balancer before its
// units restart. With one, nothing can serve while it restarts: the
// failures are counted and reported, not held against it.
func (t *Test) trafficCheck(r *rolling) check {
	return func(ctx context.Context, out io.Writer) error {
		if r.traffic == nil {
			return errors.New("no requests were sent: the upgrade did not start")
		}
		failed := r.traffic.failed()
		fmt.Fprintf(out, "requests during the upgrade (%.1fs): %s\n", r.total.Seconds(), r.traffic.summary())
		for i, s := range failed {
			if i == maxListed {
				fmt.Fprintf(out, "... and %d more\n", len(failed)-maxListed)
				break
			}
			fmt.Fprintln(out, r.traffic.describe(s))
		}
		web := len(t.webGuests())
		switch {
		case len(failed) == 0:
			return nil
		case web < 2:
			t.figure("rolling upgrade, one web host: %d requests failed while it was upgraded (counted, not required to be 0)", len(failed))
			return nil
		}
		return fmt.Errorf("%d requests failed through the load balancer while the hosts were upgraded; the first: %s",
			len(failed), r.traffic.describe(failed[0]))
	}
}

// migrationQuery lists the migrations the fixture application logs, with
// when they ran (seconds since 1970, the services host's clock).
const migrationQuery = "SELECT revision, host, extract(epoch FROM ran_at) FROM fixture_migration_runs ORDER BY id"

// upgradesQuery lists the upgrades invenio-setup recorded.
const upgradesQuery = "SELECT version, host FROM invenio_infra_lifecycle WHERE action = 'upgrade' ORDER BY id"

// migrationCheck checks, from the database, that the upgrade migrated the
// instance once (one upgrade recorded, each logged migration ran once) and
// that the migration ran before the first answer of the new release went
// through the load balancer.
func (t *Test) migrationCheck(r *rolling) check {
	return func(ctx context.Context, out io.Writer) error {
		if err := r.notRan(); err != nil {
			return err
		}
		svc := t.servicesGuest()
		upgrades, err := svc.run(ctx, psqlRows(upgradesQuery))
		if err != nil {
			return fmt.Errorf("reading invenio_infra_lifecycle: %w", err)
		}
		runs, err := svc.run(ctx, psqlRows(migrationQuery))
		if err != nil {
			return fmt.Errorf("reading fixture_migration_runs: %w", err)
		}
		fmt.Fprintf(out, "upgrades recorded (version|host):\n%smigrations logged (revision|host|epoch):\n%s", upgrades, runs)
		want := r.next[t.site.Application.Package].Version.String()
		if err := upgradedOnce(upgrades, want); err != nil {
			return err
		}
		last, err := migratedOnce(runs)
		if err != nil {
			return err
		}
		offset, uncertain, err := t.clockOffset(ctx, svc)
		if err != nil {
			return err
		}
		first, ok := r.traffic.firstNew()
		if !ok {
			return errors.New("no answer of the new release went through the load balancer")
		}
		ran := last.Add(-offset)
		fmt.Fprintf(out, "the migration ran at %s (the services host's clock, %+.3fs ± %.3fs from the test's), the first answer of release %s came from %s at %s\n",
			ran.UTC().Format("15:04:05.000"), offset.Seconds(), uncertain.Seconds(), first.Version, first.Host, first.At.UTC().Format("15:04:05.000"))
		if !ran.Add(uncertain).Before(first.At) {
			return fmt.Errorf("the new release answered at %s, before (or too close to) the migration at %s",
				first.At.UTC().Format("15:04:05.000"), ran.UTC().Format("15:04:05.000"))
		}
		t.figure("rolling upgrade: the migration ran %.1fs before the first answer of the new release", first.At.Sub(ran).Seconds())
		return nil
	}
}

// upgradedOnce checks the "version|host" rows record exactly one upgrade,
// to version.
func upgradedOnce(rows, version string) error {
	lines := nonEmptyLines(rows)
	if len(lines) != 1 {
		return fmt.Errorf("invenio_infra_lifecycle records %d upgrades, want exactly 1", len(lines))
	}
	if v, _, _ := strings.Cut(lines[0], "|"); v != version {
		return fmt.Errorf("invenio_infra_lifecycle records the upgrade to %s, want %s", v, version)
	}
	return nil
}

// migratedOnce checks the "revision|host|epoch" rows: at least one
// migration logged, none twice. It returns when the last one ran.
func migratedOnce(rows string) (time.Time, error) {
	seen := map[string]int{}
	var last time.Time
	for _, line := range nonEmptyLines(rows) {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			return last, fmt.Errorf("unexpected row %q", line)
		}
		seen[f[0]]++
		at, err := parseEpoch(f[2])
		if err != nil {
			return last, fmt.Errorf("row %q: %w", line, err)
		}
		last = at
	}
	if len(seen) == 0 {
		return last, errors.New("no migration was logged: release N+1's revision did not run")
	}
	for rev, n := range seen {
		if n != 1 {
			return last, fmt.Errorf("revision %s ran %d times, want once", rev, n)
		}
	}
	return last, nil
}

// clockOffset is how far g's clock is ahead of the test's, and within how
// much (half the round trip of asking it).
func (t *Test) clockOffset(ctx context.Context, g *guest) (offset, uncertain time.Duration, err error) {
	before := time.Now()
	s, err := g.run(ctx, "date +%s.%N")
	after := time.Now()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: reading its clock: %w", g.Host.Name, err)
	}
	at, err := parseEpoch(s)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: clock: %w", g.Host.Name, err)
	}
	mid := before.Add(after.Sub(before) / 2)
	return at.Sub(mid), after.Sub(before) / 2, nil
}

// parseEpoch reads seconds since 1970 with a decimal fraction, as date
// +%s.%N and PostgreSQL's extract(epoch ...) print them.
func parseEpoch(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("epoch %q: %w", s, err)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("epoch %q: %w", s, err)
	}
	return time.Unix(n, ns), nil
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
