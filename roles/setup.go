package roles

import (
	"encoding/json"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// BackupDir is where upgrades write their database dumps.
const BackupDir = "/var/backups/invenio"

// SetupUnit is the unit that sets an instance up and upgrades it.
const SetupUnit = "invenio-setup.service"

// FilesLocation is the name of the default files location the set-up
// creates, as invenio-cli names it.
const FilesLocation = "default-location"

// backupTmpfiles is invenio-web's tmpfiles.d file for BackupDir.
const backupTmpfiles = "invenio-backups.conf"

// setupConfig is /etc/invenio/setup.json, what invenio-setup reads.
type setupConfig struct {
	Instance  string `json:"instance"`
	Package   string `json:"package"`
	Files     string `json:"files"`
	Location  string `json:"location"`
	DemoData  bool   `json:"demo_data"`
	Backups   int    `json:"backups"`
	BackupDir string `json:"backup_dir"`
}

// cliSteps is the program invenio-setup runs the steps' invenio commands
// with, in one process of the application's Python (invenio-setup's
// CLI_STEPS names the same path).
const cliSteps = "/usr/lib/invenio/invenio_cli_steps.py"

// setupUnitData is the data of the unit.
type setupUnitData struct {
	Instance, Storage string
	Hardening         systemd.HardenOptions
}

// webSetup is what invenio-web ships for the instance's set-up and upgrades.
type webSetup struct {
	files     []packaging.File
	tmpfiles  []string
	depends   []packaging.Relation
	configure []string
	triggered []string
}

// setupForWeb returns the invenio-setup command, its settings (JSON, so
// site values need no other escaping), unit, manual page and backup
// directory, and the maintainer-script hooks that run it:
// on an upgrade of invenio-web and whenever the application package changes
// files in the virtualenv (a dpkg file trigger), so that a failed migration
// fails the package's configuration.
func setupForWeb(c *Context) webSetup {
	app := c.App()
	cfg, err := json.MarshalIndent(setupConfig{
		Instance: c.Instance.Name, Package: app.Package, Files: c.Site.FilesDir(), Location: FilesLocation,
		DemoData: app.DemoData, Backups: app.BackupsKept(), BackupDir: BackupDir,
	}, "", "  ")
	if err != nil {
		panic(err) // plain strings, numbers and booleans always marshal
	}
	data := setupUnitData{Instance: c.Instance.Name, Storage: c.Storage(), Hardening: setupHardening(c)}
	script, err := templateFS.ReadFile("templates/invenio-setup.py")
	if err != nil {
		panic(err) // embedded by construction
	}
	steps, err := templateFS.ReadFile("templates/invenio_cli_steps.py")
	if err != nil {
		panic(err) // embedded by construction
	}
	return webSetup{
		files: []packaging.File{
			{Path: "/usr/sbin/invenio-setup", Mode: 0o755, Body: script},
			{Path: cliSteps, Mode: 0o644, Body: steps},
			{Path: "/etc/invenio/setup.json", Mode: 0o644, Body: append(cfg, '\n')},
			unitFile(SetupUnit, "invenio-setup.service.tmpl", data),
			manPage("invenio-setup", 8, "invenio-setup.8.tmpl", data),
			conf("/usr/lib/tmpfiles.d/"+backupTmpfiles, "storage-tmpfiles.conf.tmpl",
				storageDir{Path: BackupDir, Why: "database dumps invenio-setup writes before it migrates"}),
		},
		tmpfiles:  []string{backupTmpfiles},
		depends:   packaging.Deps("python3", "python3-psycopg2", "postgresql-client"),
		configure: []string{`if [ -n "$2" ]; then` + "\n" + drainBeforeUpgrade + "\n" + runSetup + "\nfi"},
		triggered: []string{drainBeforeUpgrade + "\n" + runSetup + "\n" + restartWeb + "\n" + rejoinAfterUpgrade},
	}
}

// runSetup runs invenio-setup.service now (on a running system whose
// policy allows it) and fails the maintainer script, with the unit's
// journal, when the set-up or upgrade fails; the host, which
// drainBeforeUpgrade drained, stays drained. It starts the unit rather than
// restarting it: a restart would restart the units that require it too, and
// a failed migration must leave the running (old) processes serving.
//
// deb-systemd-invoke starts no static unit (it prints "is a disabled or a
// static unit, not starting it" and succeeds), and the set-up unit is
// static: the units that need it require it. So the script asks
// policy-rc.d as deb-systemd-invoke would (101: the action is forbidden,
// as in an image being baked) and starts the unit with systemctl.
const runSetup = `if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    policy=0
    if command -v policy-rc.d >/dev/null 2>&1; then
        policy-rc.d ` + SetupUnit + ` start >/dev/null 2>&1 || policy=$?
    fi
    if [ "$policy" -eq 101 ]; then
        echo "invenio-web: policy-rc.d forbids starting ` + SetupUnit + `; it runs when the application's units next start" >&2
    elif ! systemctl start ` + SetupUnit + `; then
        echo "invenio-web: the instance's set-up or upgrade failed (` + SetupUnit + `):" >&2
        journalctl --no-pager -o cat -n 40 -u ` + SetupUnit + ` >&2 || true
        echo "invenio-web: this host stays drained (/ping answers 503) and its units were not restarted; fix the cause, then run dpkg --configure -a" >&2
        exit 1
    fi
fi`

// restartWeb restarts the application's units after the application package
// changed, so the new code serves (the migration ran first).
const restartWeb = `if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke try-restart invenio-web.target >/dev/null || true
fi`

// setupHardening is the set-up's sandbox: the application's, plus the
// backup directory.
func setupHardening(c *Context) systemd.HardenOptions {
	h := appHardening(c)
	h.ReadWritePaths = append(h.ReadWritePaths, BackupDir)
	return h
}
