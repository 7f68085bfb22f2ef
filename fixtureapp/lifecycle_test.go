package fixtureapp_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// setupHosts are the host names two web hosts of the instance have while
// they run invenio-setup at the same time (each in its own UTS namespace).
var setupHosts = []string{"web-a", "web-b"}

// psql is the command line that runs one query on the instance's database
// as postgres, printing bare rows.
func psql(sql string) string { return psqlOn("invenio", sql) }

func psqlOn(db, sql string) string {
	return `chroot "$R" runuser -u postgres -- psql -X -At -d ` + db + ` -c '` + strings.ReplaceAll(sql, "'", `'\''`) + `'`
}

// setupTwice runs invenio-setup on both setupHosts at once, as its unit
// does (the invenio user, through invenio-run), into $R/tmp/LABEL-HOST.log,
// then once more as a rebuilt host would, into $R/tmp/LABEL-again.log.
func setupTwice(label string) string {
	run := `/usr/libexec/invenio/invenio-run /usr/sbin/invenio-setup run`
	var b strings.Builder
	b.WriteString("\n# Two web hosts run invenio-setup at once (" + label + ").\n")
	for i, h := range setupHosts {
		b.WriteString(`unshare --uts sh -c 'hostname "$1"; exec chroot "$2" runuser -u invenio -- ` + run + `' sh ` + h +
			` "$R" >"$R/tmp/` + label + `-` + h + `.log" 2>&1 &` + "\n" + "p" + itoa(i) + "=$!\n")
	}
	for i, h := range setupHosts {
		b.WriteString(`wait $p` + itoa(i) + ` || { cat "$R/tmp/` + label + `-` + h + `.log"; fail "` + label + ` on ` + h + `"; }` + "\n")
	}
	b.WriteString(`unshare --uts sh -c 'hostname web-rebuilt; exec chroot "$1" runuser -u invenio -- ` + run + `' sh "$R" >"$R/tmp/` +
		label + `-again.log" 2>&1 || { cat "$R/tmp/` + label + `-again.log"; fail "` + label + ` again"; }` + "\n")
	b.WriteString(`echo "lifecycle after ` + label + `: $(` + psql(`SELECT action || ' ' || version || ' ' || host FROM invenio_infra_lifecycle ORDER BY id`) + ` | tr '\n' ';')"` + "\n")
	return b.String()
}

func itoa(i int) string { return string(rune('0' + i)) }

// upgradeScript installs release 2 of the application (one more migration)
// with dpkg, runs invenio-setup on two hosts at once, and restores the
// backup into a scratch database.
func upgradeScript(host, venv string) string {
	scratch := func(sql string) string { return psqlOn("scratch", sql) }
	return `
# Release 2 of the application: one more alembic revision.
chroot "$R" dpkg --install /tmp/app-release2.deb >/dev/null || fail "dpkg --install release 2"
` + setupTwice("upgrade") + `
echo "migration runs: $(` + psql(`SELECT revision || ' ' || host FROM fixture_migration_runs ORDER BY id`) + ` | tr '\n' ';')"
echo "alembic after upgrade: $(` + psql(`SELECT version_num FROM alembic_version`) + `)"
echo "record 1 after upgrade: $(` + psql(`SELECT title FROM fixture_records WHERE id = 1`) + `)"
echo "backups: $(ls "$R/var/backups/invenio" | tr '\n' ' ')"
backup=$(ls "$R/var/backups/invenio" | head -n 1)
[ -n "$backup" ] || fail "no backup"
# The backup restores: the database as it was before the migration.
chroot "$R" runuser -u postgres -- createdb scratch
# root reads the dump (0640 invenio), PostgreSQL's superuser restores it.
chroot "$R" runuser -u postgres -- pg_restore --no-owner --exit-on-error -d scratch <"$R/var/backups/invenio/$backup" || fail "pg_restore"
echo "restored: records $(` + scratch(`SELECT string_agg(title, ',' ORDER BY id) FROM fixture_records`) + `); note column $(` +
		scratch(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'fixture_records' AND column_name = 'note'`) +
		`); alembic $(` + scratch(`SELECT version_num FROM alembic_version`) + `)"
` + brokenUpgradeScript(host, venv)
}

// brokenUpgradeScript installs the broken release, whose migration fails
// half-way, and runs invenio-web's postinst as the package's trigger runs
// it (drainedBrokenUpgrade): it must fail, and the database stay as it was.
func brokenUpgradeScript(host, venv string) string {
	return drainedBrokenUpgrade(host, venv) + `
echo "alembic after broken: $(` + psql(`SELECT version_num FROM alembic_version`) + `)"
echo "broken column: $(` + psql(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'fixture_records' AND column_name = 'broken'`) + `)"
echo "lifecycle after broken: $(` + psql(`SELECT action || ' ' || version FROM invenio_infra_lifecycle ORDER BY id`) + ` | tr '\n' ';')"
echo "backups after broken: $(ls "$R/var/backups/invenio" | wc -l)"
`
}

// checkFailedUpgrade checks the broken release's upgrade: it failed with
// the error and the backup's path, and left the database as it was.
func checkFailedUpgrade(t *testing.T, root, out, from, to string) {
	t.Helper()
	log := readLog(t, root, "broken.log")
	t.Logf("broken upgrade:\n%s", log)
	assert.Regexp(t, `invenio-setup: upgrade to `+regexp.QuoteMeta(to)+` failed: invenio alembic upgrade exited with status 1; `+
		`the database is as alembic left it; the backup from before the upgrade is /var/backups/invenio/dev-[0-9TZ]+-`+
		regexp.QuoteMeta(from)+`-before-`+regexp.QuoteMeta(to)+`\.dump\n`, log)
	assert.Contains(t, log, "fixture_no_such_function", "alembic's error is in the output")
	assert.Contains(t, out, "alembic after broken: f1a7c0de0002\n", "the failed revision left no mark")
	assert.Contains(t, out, "broken column: 0\n", "the failed revision's first step was rolled back with it")
	assert.Contains(t, out, "lifecycle after broken: setup "+"1.0.0-1;upgrade "+from+";\n", "a failed upgrade records nothing")
	assert.Contains(t, out, "backups after broken: 2\n")
	assert.Regexp(t, `invenio-setup: the database did not answer within 3s: .*; this host last found the dev instance at version `+
		regexp.QuoteMeta(from)+`, which is installed: nothing to do\n`, readLog(t, root, "down.log"))
}

// databaseDownScript runs invenio-setup with PostgreSQL stopped, once with
// the version this host last found installed again (release 2 over the
// broken release): it lets the application start.
func databaseDownScript() string {
	return `
# PostgreSQL is down: a host that last found the installed version has nothing to do.
chroot "$R" dpkg --install /tmp/app-release2.deb >/dev/null 2>&1 || fail "dpkg --install release 2 again"
chroot "$R" runuser -u invenio -- env INVENIO_SETUP_WAIT=3 /usr/libexec/invenio/invenio-run /usr/sbin/invenio-setup run >"$R/tmp/down.log" 2>&1 ||
    { cat "$R/tmp/down.log"; fail "invenio-setup with the database down"; }
`
}

// readLog returns a log the script left in the root's /tmp.
func readLog(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "tmp", name))
	require.NoError(t, err)
	return string(b)
}

// oneWorkedOneWaited checks the logs of the two hosts that ran
// invenio-setup at once: one did the work (done matches its log), the
// other waited for the lock and then found nothing to do. It returns the
// host that worked.
func oneWorkedOneWaited(t *testing.T, root, label string, done *regexp.Regexp) string {
	t.Helper()
	var worked, waited []string
	for _, h := range setupHosts {
		log := readLog(t, root, label+"-"+h+".log")
		t.Logf("%s on %s:\n%s", label, h, log)
		switch {
		case done.MatchString(log) && !strings.Contains(log, "another host did the work"):
			worked = append(worked, h)
		case strings.Contains(log, "waiting: another host is setting up or upgrading the instance") &&
			strings.Contains(log, "another host did the work") && !strings.Contains(log, "running invenio"):
			waited = append(waited, h)
		}
	}
	require.Len(t, worked, 1, "exactly one host does the %s", label)
	require.Len(t, waited, 1, "the other host waits for it and does nothing")
	again := readLog(t, root, label+"-again.log")
	assert.Regexp(t, `is set up at version [^ ]+: nothing to do`, again, "a rebuilt host does nothing")
	assert.NotContains(t, again, "running invenio")
	return worked[0]
}

// checkSetUpOnce checks the set-up ran once, on one host, recorded in the
// database.
func checkSetUpOnce(t *testing.T, root, out, version string) {
	t.Helper()
	h := oneWorkedOneWaited(t, root, "setup", regexp.MustCompile(`set up the dev instance at version `+regexp.QuoteMeta(version)+` on web-`))
	assert.Contains(t, out, "lifecycle after setup: setup "+version+" "+h+";\n", "the database records one set-up, by the host that did it")
	log := readLog(t, root, "setup-"+h+".log")
	for _, step := range []string{
		"invenio db init", "invenio db create", "invenio files location create --default " + roles.FilesLocation + " /storage/data",
		"invenio roles create admin", "invenio access allow superuser-access role admin", "invenio index init",
		"invenio rdm-records custom-fields init", "invenio communities custom-fields init", "invenio rdm fixtures",
		"invenio queues declare", "invenio users create " + Admin.Email + " --password '***' --active --confirm",
	} {
		assert.Contains(t, log, "running "+step+"\n")
	}
	assert.NotContains(t, log, Admin.Password, "the admin's password stays out of the journal")
	assert.Contains(t, log, "index init: skipped: stand-in", "no search engine in the root: the search steps say so")
	assert.Contains(t, log, "Declared queues: stats-file-download stats-record-view")
	assert.NotContains(t, log, "rdm-records demo", "no demo data unless the site asks")
}

// checkUpgradeOnce checks the upgrade ran once, after a backup that
// restores, and kept the data.
func checkUpgradeOnce(t *testing.T, root, out, from, to string) {
	t.Helper()
	h := oneWorkedOneWaited(t, root, "upgrade", regexp.MustCompile(`upgraded the dev instance to `+regexp.QuoteMeta(to)+` on web-`))
	assert.Contains(t, out, "lifecycle after upgrade: setup "+from+" ", "")
	assert.Regexp(t, `lifecycle after upgrade: setup [^;]+;upgrade `+regexp.QuoteMeta(to)+` `+h+`;\n`, out)
	assert.Contains(t, out, "migration runs: f1a7c0de0002 "+h+";\n", "the migration ran once, on the host that upgraded")
	assert.Contains(t, out, "alembic after upgrade: f1a7c0de0002\n")
	assert.Contains(t, out, "record 1 after upgrade: wired\n", "data written before the upgrade is still there")
	assert.Regexp(t, `backups: dev-[0-9]{8}T[0-9]{6}Z-`+regexp.QuoteMeta(from)+`-before-`+regexp.QuoteMeta(to)+`\.dump \n`, out)
	assert.Contains(t, out, "restored: records wired; note column 0; alembic f1a7c0de0001\n", "the backup holds the database from before the migration")
	assert.Regexp(t, `backup /var/backups/invenio/dev-`, readLog(t, root, "upgrade-"+h+".log"))
}
