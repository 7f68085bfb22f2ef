package boottest

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// Journals as invenio-setup writes them (see roles/templates/invenio-setup.py).
const (
	didSetUp = "invenio-setup: setting up the prod instance (11 steps, 0 done before)\n" +
		"invenio-setup: running invenio db init\n" +
		"invenio-setup: set up the prod instance at version 1.0.0-1 on invenio01-prod\n"
	waited = "invenio-setup: waiting: another host is setting up or upgrading the instance\n" +
		"invenio-setup: another host did the work: the prod instance is at version 1.0.0-1: nothing to do\n"
	later = "invenio-setup: the prod instance is set up at version 1.0.0-1: nothing to do\n"
)

func TestSetUpOnce(t *testing.T) {
	host, err := setUpOnce("prod", map[string]string{"invenio01-prod": didSetUp, "invenio02-prod": waited},
		"setup|1.0.0-1|invenio01-prod\n")
	require.NoError(t, err)
	assert.Equal(t, "invenio01-prod", host)

	host, err = setUpOnce("prod", map[string]string{"invenio01-prod": didSetUp + later, "invenio02-prod": later},
		"setup|1.0.0-1|invenio01-prod\nupgrade|2.0.0-1|invenio02-prod\n")
	require.NoError(t, err, "later starts that find nothing to do and an upgrade are fine")
	assert.Equal(t, "invenio01-prod", host)
}

func TestSetupTimes(t *testing.T) {
	journal := didSetUp +
		"invenio-setup: running invenio db create\n" +
		"invenio-setup: finished invenio db create in 12.5s\n" +
		"invenio-setup: finished invenio users create a@b --password '***' --active in 3s\n" +
		"invenio-setup: finished nothing in particular\n"
	n, total, slowest := setupTimes(journal)
	assert.Equal(t, 2, n)
	assert.InDelta(t, 15.5, total, 1e-9)
	assert.Equal(t, "invenio db create 12.5s", slowest)

	n, _, _ = setupTimes(later)
	assert.Zero(t, n, "a host that had nothing to do ran no command")
}

func TestSetUpOnceRefuses(t *testing.T) {
	for name, tt := range map[string]struct {
		journals map[string]string
		rows     string
		want     string
	}{
		"two hosts set up": {map[string]string{"a": strings.ReplaceAll(didSetUp, "invenio01-prod", "a"), "b": strings.ReplaceAll(didSetUp, "invenio01-prod", "b")},
			"setup|1.0.0-1|a\n", "hosts that set the instance up: [a b], want exactly one"},
		"one host twice": {map[string]string{"a": strings.Repeat(didSetUp, 2), "b": waited},
			"setup|1.0.0-1|invenio01-prod\n", "set the instance up 2 times"},
		"nobody": {map[string]string{"a": later, "b": later}, "setup|1.0.0-1|x\n", "want exactly one"},
		"never ran": {map[string]string{"a": didSetUp, "b": ""}, "setup|1.0.0-1|invenio01-prod\n",
			"b's journal shows neither a set-up nor \"nothing to do\""},
		"two rows": {map[string]string{"a": didSetUp, "b": waited}, "setup|1.0.0-1|invenio01-prod\nsetup|1.0.0-1|invenio01-prod\n",
			"the database records 2 set-ups, want 1"},
		"no rows": {map[string]string{"a": didSetUp, "b": waited}, "", "the database records 0 set-ups, want 1"},
		"other host in the database": {map[string]string{"a": didSetUp, "b": waited}, "setup|1.0.0-1|invenio02-prod\n",
			"the journal says a did it"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := setUpOnce("prod", tt.journals, tt.rows)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

const (
	standInSteps = "index init: skipped: stand-in (no search engine answers at 10.0.0.3:9200)\n" +
		"rdm-records custom-fields init: skipped: stand-in (no search engine answers at 10.0.0.3:9200)\n" +
		"communities custom-fields init: skipped: stand-in (no search engine answers at 10.0.0.3:9200)\n"
	realSteps = "index init: done on 10.0.0.3:9200\nrdm-records custom-fields init: done on 10.0.0.3:9200\n" +
		"communities custom-fields init: done on 10.0.0.3:9200\n"
)

func TestSearchSteps(t *testing.T) {
	err := searchSteps(standInSteps, true, io.Discard)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "skipped: "), "a stand-in makes the check a skip, never a pass: %v", err)
	assert.NoError(t, searchSteps(realSteps, false, io.Discard))

	err = searchSteps(standInSteps, false, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 search steps said \"skipped: stand-in\", but the image carries a real search engine")
	err = searchSteps("index init: done on x:9200\n", true, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no "rdm-records custom-fields init"`)
	err = searchSteps(strings.Replace(realSteps, "index init: done on 10.0.0.3:9200", "index init: skipped: stand-in (x)", 1), true, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only 1 of 3 search steps found no engine")
}

func TestUnderLocation(t *testing.T) {
	f := storedFile{Key: "k", URI: "/storage/data/ab/cd/ef01/data", Location: "/storage/data"}
	assert.NoError(t, underLocation(f, "/storage/data\n"))
	assert.NoError(t, underLocation(f, "file:///storage/data/"))
	assert.ErrorContains(t, underLocation(f, ""), "no default files location")
	assert.ErrorContains(t, underLocation(f, "/srv/files"), `the application wrote to the location "/storage/data", the database's default is "/srv/files"`)
	f.URI = "/storage/database/x"
	assert.ErrorContains(t, underLocation(f, "/storage/data"), "not below the files location /storage/data")
}

func TestWithAdmin(t *testing.T) {
	s, err := seed.GenerateSecrets(roles.SecretKeys())
	require.NoError(t, err)
	s, err = withAdmin(s)
	require.NoError(t, err)
	env := string(s.Env())
	assert.Contains(t, env, "\nINVENIO_ADMIN_EMAIL=admin@example.org\n")
	assert.Regexp(t, `\nINVENIO_ADMIN_PASSWORD=[A-Za-z0-9]{48}\n`, env)
	assert.Equal(t, len(roles.SecretKeys())+2, s.Len())
}
