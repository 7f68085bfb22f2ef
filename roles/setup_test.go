package roles_test

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// TestSetupShipped checks what invenio-web ships for the instance's set-up
// and upgrades, and that the application's units wait for it.
func TestSetupShipped(t *testing.T) {
	s := site.Default()
	web := planned(t, s, "prod")["invenio-web"]
	assert.Contains(t, file(t, web, "/usr/sbin/invenio-setup"), "pg_advisory_lock")
	unit := file(t, web, "/usr/lib/systemd/system/"+roles.SetupUnit)
	assert.Contains(t, unit, "Type=oneshot\nUser=invenio\n")
	assert.Contains(t, unit, "ExecStart=/usr/libexec/invenio/invenio-run /usr/sbin/invenio-setup run\n")
	assert.Contains(t, unit, "ReadWritePaths=/var/lib/invenio /var/log/invenio /opt/invenio/var/instance /storage "+roles.BackupDir+"\n")
	for _, u := range []string{"invenio-ui", "invenio-api", "invenio-worker", "invenio-beat"} {
		body := file(t, web, "/usr/lib/systemd/system/"+u+".service")
		assert.Contains(t, body, "Requires="+roles.SetupUnit+"\n", u)
		assert.Regexp(t, `(?m)^After=.* `+roles.SetupUnit+`$`, body, u)
	}
	assert.Equal(t, []string{s.Application.Virtualenv}, web.TriggerPaths, "a new application package triggers invenio-web")
	assert.NotEmpty(t, web.Maint.Triggered)
	for _, d := range []string{"postgresql-client", "python3-psycopg2", "python3"} {
		assert.Contains(t, packaging.RelationStrings(web.Depends), d)
	}
	assert.Contains(t, web.Maint.Tmpfiles, "invenio-backups.conf")
	env := file(t, planned(t, s, "prod")["invenio-common"], "/etc/invenio/invenio.env")
	assert.NotContains(t, env, "FILES_LOCATION", "InvenioRDM reads its files location from the database")
}

// TestSetupConfigFromSite checks /etc/invenio/setup.json follows the site.
func TestSetupConfigFromSite(t *testing.T) {
	s := site.Default()
	s.Application.DemoData = true
	s.Application.Backups = 3
	s.Storage.Files = "/storage/invenio files"
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(file(t, planned(t, s, "test")["invenio-web"], "/etc/invenio/setup.json")), &cfg))
	assert.Equal(t, map[string]any{
		"instance": "test", "package": "invenio-app-tugraz", "files": "/storage/invenio files",
		"location": roles.FilesLocation, "demo_data": true, "backups": float64(3), "backup_dir": roles.BackupDir,
	}, cfg)
}

// TestSetupScriptParses compiles invenio-setup with Debian's python3 and
// runs its usage path.
// TestSetupFindsItsStepRunner checks that invenio-web ships the program
// invenio-setup's CLI_STEPS names.
func TestSetupFindsItsStepRunner(t *testing.T) {
	web := planned(t, site.Default(), "prod")["invenio-web"]
	m := regexp.MustCompile(`(?m)^CLI_STEPS = "([^"]+)"$`).FindStringSubmatch(file(t, web, "/usr/sbin/invenio-setup"))
	require.NotNil(t, m, "invenio-setup names CLI_STEPS")
	assert.Contains(t, file(t, web, m[1]), "def main(argv):")
}

func TestSetupScriptParses(t *testing.T) {
	need.Tool(t, "/usr/bin/python3")
	src := file(t, planned(t, site.Default(), "prod")["invenio-web"], "/usr/sbin/invenio-setup")
	cmd := exec.Command("/usr/bin/python3", "-c", "import ast, sys; ast.parse(sys.stdin.read())")
	cmd.Stdin = strings.NewReader(src)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	if exec.Command("/usr/bin/python3", "-c", "import psycopg2").Run() != nil {
		t.Skip("need: python3-psycopg2 to run invenio-setup's usage path")
	}
	cmd = exec.Command("/usr/bin/python3", "-", "bogus")
	cmd.Stdin = strings.NewReader(src)
	out, err = cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "usage: invenio-setup [run | status | adopt]")
}
