package roles

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// secretKeys are the variables /etc/invenio/secrets.env must define. They are
// shared by every host of an instance.
var secretKeys = []string{
	"INVENIO_SECRET_KEY",
	"INVENIO_SECURITY_LOGIN_SALT",
	"INVENIO_CSRF_SECRET_SALT",
	"INVENIO_DB_PASSWORD",
	"INVENIO_REDIS_PASSWORD",
	"INVENIO_RABBITMQ_PASSWORD",
}

// SecretKeys returns the variables every instance's secrets file defines.
func SecretKeys() []string { return append([]string(nil), secretKeys...) }

// AdminKeys are the optional variables of the secrets file that name the
// instance's first administrator, whom invenio-setup creates.
var AdminKeys = [2]string{"INVENIO_ADMIN_EMAIL", "INVENIO_ADMIN_PASSWORD"}

// appEnvHelper is the Python program that invenio-run hands the application
// secrets file to; the application's own Python runs it.
const appEnvHelper = "/usr/lib/invenio/invenio_app_env.py"

// common is invenio-common: the system user, /etc/invenio, the environment
// file, and the helpers every other package uses.
func common(c *Context) packaging.Spec {
	keys := struct {
		Keys, AppFile string
		AppKeys       []string
	}{strings.Join(secretKeys, " "), site.AppSecretsPath, c.App().Secrets}
	run := struct{ Virtualenv, AppSecrets, Helper string }{c.App().Virtualenv, site.AppSecretsPath, appEnvHelper}
	return packaging.Spec{
		Name:     "invenio-common",
		Section:  "admin",
		Synopsis: "InvenioRDM common files for the " + c.Instance.Name + " instance",
		Description: "The invenio system user and group, /etc/invenio with the environment\n" +
			"file InvenioRDM reads (database, broker, Redis, search and mail URLs of\n" +
			"the " + c.Instance.Name + " instance), log and state directories, and the invenio-secrets\n" +
			"and invenio-run helpers.\n\n" +
			"Secrets are never part of this package: they reach a host through its\n" +
			"cloud-init seed or an admin, in /etc/invenio/secrets.env and, for the\n" +
			"application's own, " + site.AppSecretsPath + ".",
		Depends: []packaging.Relation{
			{Name: "systemd", Version: ">= 250", Or: packaging.Deps("systemd-standalone-sysusers")},
			packaging.Dep("logrotate"), packaging.SameVersion("invenio-firewall"),
		},
		Files: []packaging.File{
			conf("/usr/lib/sysusers.d/invenio.conf", "sysusers.conf.tmpl", c),
			conf("/usr/lib/tmpfiles.d/invenio.conf", "tmpfiles.conf.tmpl", c),
			dir("/etc/invenio"),
			conf("/etc/invenio/invenio.env", "invenio.env.tmpl", c),
			conf("/etc/logrotate.d/invenio", "logrotate.tmpl", c),
			script("/usr/sbin/invenio-secrets", "invenio-secrets.tmpl", keys),
			script("/usr/libexec/invenio/invenio-run", "invenio-run.tmpl", run),
			conf(appEnvHelper, "invenio-app-env.tmpl", struct{ File string }{site.AppSecretsPath}),
			manPage("invenio-secrets", 8, "invenio-secrets.8.tmpl", keys),
		},
		Maint: systemd.Maint{
			// systemd-sysusers takes another ID when the site's is taken.
			Configure: []string{uidCheck(c.App().UID)},
			Sysusers:  []string{"invenio.conf"},
			Tmpfiles:  []string{"invenio.conf"},
			Purge:     []string{"rm -rf /var/lib/invenio /var/log/invenio /run/invenio"},
		},
	}
}

// uidCheck warns when the invenio user did not get the site's ID (another
// user had it), which shared storage then shows as files of a stranger.
func uidCheck(uid int) string {
	id := itoa(uid)
	return "if [ \"$(id -u invenio 2>/dev/null)\" != " + id + " ]; then\n" +
		"    echo \"invenio-common: warning: the invenio user's ID is $(id -u invenio), not the site's " + id +
		" (taken by $(getent passwd " + id + " | cut -d: -f1)); files on shared storage will not be its own\" >&2\n" +
		"fi"
}
