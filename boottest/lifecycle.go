package boottest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// adminEmail is the first administrator the run's secrets name.
const adminEmail = "admin@example.org"

// withAdmin returns secrets plus the optional keys that name the first
// administrator, with a random password.
func withAdmin(secrets seed.Secrets) (seed.Secrets, error) {
	pw, err := seed.GenerateSecrets([]string{roles.AdminKeys[1]})
	if err != nil {
		return seed.Secrets{}, err
	}
	env := append(secrets.Env(), []byte(roles.AdminKeys[0]+"="+adminEmail+"\n"+roles.AdminKeys[1]+"="+pw.Values()[0]+"\n")...)
	return seed.ParseSecrets(env, roles.SecretKeys())
}

// setupJournal is the journal of invenio-setup.service on a guest, every boot.
const setupJournal = "journalctl --no-pager -o cat -u " + roles.SetupUnit

// psqlRows is the command line that prints a query's rows on the services
// host, fields separated by |.
func psqlRows(sql string) string {
	return "runuser -u postgres -- psql -X -At -d invenio -c " + escape.Shell(sql)
}

// lifecycleQuery lists what the instance's database records of its set-up
// and upgrades.
const lifecycleQuery = "SELECT action, version, host FROM invenio_infra_lifecycle ORDER BY id"

// setupOnceCheck checks, from every web host's journal and from the
// database, that the instance was set up exactly once, by one web host.
func (t *Test) setupOnceCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		journals := map[string]string{}
		for _, g := range t.webGuests() {
			j, err := g.run(ctx, setupJournal)
			if err != nil {
				return fmt.Errorf("journal of %s on %s: %w", roles.SetupUnit, g.Host.Name, err)
			}
			journals[g.Host.Name] = j
		}
		rows, err := t.servicesGuest().run(ctx, psqlRows(lifecycleQuery))
		if err != nil {
			return fmt.Errorf("reading invenio_infra_lifecycle: %w: %s", err, rows)
		}
		host, err := setUpOnce(t.in.Name, journals, rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "set up once, by %s; the database records:\n%s", host, rows)
		if n, total, slowest := setupTimes(journals[host]); n > 0 {
			t.figure("set-up on %s: %d invenio commands in %.1fs (slowest: %s)", host, n, total, slowest)
		}
		return nil
	}
}

// finishedStep is invenio-setup's line after each invenio command it ran.
var finishedStep = regexp.MustCompile(`(?m)^invenio-setup: finished (invenio .*) in ([0-9]+(?:\.[0-9]+)?)s$`)

// setupTimes sums the invenio commands' times in a set-up journal: how
// many, their total in seconds and the slowest with its time.
func setupTimes(journal string) (n int, total float64, slowest string) {
	most := -1.0
	for _, m := range finishedStep.FindAllStringSubmatch(journal, -1) {
		secs, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue // the pattern admits only numbers
		}
		n++
		total += secs
		if secs > most {
			most, slowest = secs, fmt.Sprintf("%s %.1fs", m[1], secs)
		}
	}
	return n, total, slowest
}

// setUpOnce checks the journals of the web hosts (by name) and the rows of
// invenio_infra_lifecycle ("action|version|host" lines): exactly one host's
// journal says it set the instance up, every other host's that it had
// nothing to do, and the database records one set-up, by that host. It
// returns the host.
func setUpOnce(instance string, journals map[string]string, rows string) (string, error) {
	did := regexp.MustCompile(`(?m)^invenio-setup: set up the ` + regexp.QuoteMeta(instance) + ` instance at version (\S+) on (\S+)$`)
	var workers []string
	var problems []string
	for _, h := range sortedKeys(journals) {
		n := len(did.FindAllString(journals[h], -1))
		switch {
		case n == 1:
			workers = append(workers, h)
		case n > 1:
			problems = append(problems, fmt.Sprintf("%s set the instance up %d times", h, n))
		case !strings.Contains(journals[h], "nothing to do"):
			problems = append(problems, h+"'s journal shows neither a set-up nor \"nothing to do\"")
		}
	}
	if len(workers) != 1 {
		problems = append(problems, fmt.Sprintf("hosts that set the instance up: %v, want exactly one", workers))
	}
	var setups []string
	for _, r := range strings.Split(strings.TrimSpace(rows), "\n") {
		if strings.HasPrefix(r, "setup|") {
			setups = append(setups, r)
		}
	}
	switch {
	case len(setups) != 1:
		problems = append(problems, fmt.Sprintf("the database records %d set-ups, want 1", len(setups)))
	case len(workers) == 1 && !strings.HasSuffix(setups[0], "|"+workers[0]):
		problems = append(problems, fmt.Sprintf("the database records the set-up %q, the journal says %s did it", setups[0], workers[0]))
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return workers[0], nil
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// searchSetupCheck checks the set-up initialised the search indices, or
// skips when the services host carries a stand-in for the engine (and the
// set-up said so).
func (t *Test) searchSetupCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		var all strings.Builder
		for _, g := range t.webGuests() {
			j, err := g.run(ctx, setupJournal)
			if err != nil {
				return err
			}
			all.WriteString(j)
		}
		return searchSteps(all.String(), t.searchStandIn(t.servicesGuest()), out)
	}
}

// searchSteps judges the search steps of the set-up from its journal:
// "skipped: stand-in" is a skip where the image carries a stand-in and a
// failure where it does not; each step done passes.
func searchSteps(journal string, standIn bool, out io.Writer) error {
	steps := []string{"index init", "rdm-records custom-fields init", "communities custom-fields init"}
	skipped := 0
	for _, s := range steps {
		switch {
		case strings.Contains(journal, s+": done on "):
			fmt.Fprintf(out, "%s: done\n", s)
		case strings.Contains(journal, s+": skipped: stand-in"):
			skipped++
		default:
			return fmt.Errorf("the set-up's journal shows no %q", s)
		}
	}
	switch {
	case skipped == 0:
		return nil
	case !standIn:
		return fmt.Errorf("%d search steps said \"skipped: stand-in\", but the image carries a real search engine", skipped)
	case skipped < len(steps):
		return fmt.Errorf("only %d of %d search steps found no engine", skipped, len(steps))
	}
	return junit.Skipf("the services host carries a STAND-IN for the search engine: the set-up's %d search steps were skipped", skipped)
}

// adminLoginCheck logs the first administrator in through the load
// balancer: 200 with the admin role; a wrong password gets 401.
func (t *Test) adminLoginCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		body, _ := json.Marshal(map[string]string{"email": adminEmail, "password": t.secret[roles.AdminKeys[1]]})
		a, err := t.expect(ctx, http.MethodPost, t.lbBase(), "/api/fixture/login", body, http.StatusOK)
		if err != nil {
			return err
		}
		var who struct {
			Email string   `json:"email"`
			Roles []string `json:"roles"`
		}
		if err := json.Unmarshal(a.Body, &who); err != nil || who.Email != adminEmail || !slices.Contains(who.Roles, "admin") {
			return fmt.Errorf("login answered %s, want %s with the admin role", a.Body, adminEmail)
		}
		bad, _ := json.Marshal(map[string]string{"email": adminEmail, "password": "wrong-password"})
		if _, err := t.expect(ctx, http.MethodPost, t.lbBase(), "/api/fixture/login", bad, http.StatusUnauthorized); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s logged in on %s with roles %v; a wrong password got 401\n", adminEmail, a.Host, who.Roles)
		return nil
	}
}

// storedFile is the files API's answer to an upload.
type storedFile struct {
	Key      string `json:"key"`
	Size     int    `json:"size"`
	URI      string `json:"uri"`
	Location string `json:"location"`
	Host     string `json:"host"`
}

// underLocation checks that a stored file lies below the database's default
// files location (a path or file:// URI) and reports where.
func underLocation(f storedFile, location string) error {
	dir := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(location), "file://"), "/")
	switch {
	case dir == "":
		return errors.New("the database has no default files location")
	case f.Location != dir:
		return fmt.Errorf("the application wrote to the location %q, the database's default is %q", f.Location, dir)
	case !strings.HasPrefix(f.URI, dir+"/"):
		return fmt.Errorf("the file %s is not below the files location %s", f.URI, dir)
	}
	return nil
}

// filesLocationQuery is the default files location's URI.
const filesLocationQuery = `SELECT uri FROM files_location WHERE "default"`

// storedUnder uploads data as name through one web host and checks the
// file is stored below the database's files location, on the shared
// storage the other host sees.
func (t *Test) storedUnder(ctx context.Context, from, to *guest, name string, data []byte, out io.Writer) error {
	a, err := t.expect(ctx, http.MethodPost, webBase(from), "/api/fixture/files/"+name, data, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("writing on %s: %w", from.Host.Name, err)
	}
	var f storedFile
	if err := json.Unmarshal(a.Body, &f); err != nil {
		return fmt.Errorf("upload answer %s: %w", a.Body, err)
	}
	loc, err := t.servicesGuest().run(ctx, psqlRows(filesLocationQuery))
	if err != nil {
		return fmt.Errorf("reading files_location: %w: %s", err, loc)
	}
	if err := underLocation(f, loc); err != nil {
		return err
	}
	got, err := to.run(ctx, "runuser -u invenio -- cat "+escape.Shell(f.URI))
	if err != nil {
		return fmt.Errorf("%s on %s: %w", f.URI, to.Host.Name, err)
	}
	if !bytes.Equal([]byte(got), data) {
		return fmt.Errorf("%s holds %q on %s, %s wrote %q", f.URI, got, to.Host.Name, from.Host.Name, data)
	}
	fmt.Fprintf(out, "%s stored by %s at %s, below the database's files location %s; %s sees it there\n",
		name, from.Host.Name, f.URI, strings.TrimSpace(loc), to.Host.Name)
	return nil
}
