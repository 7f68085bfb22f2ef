package roles

import (
	"math"
	"path"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// DrainFlag is the file whose presence makes NGINX answer the load
// balancer's health check with 503. It lives below /var/lib, not /run, so a
// drained host stays drained across a reboot (a host left drained by a failed
// upgrade must not rejoin because it rebooted), in a directory of its own
// that the hardened NGINX's workers (www-data, ProtectSystem=strict: read
// only) can search, unlike /var/lib/invenio (0750 invenio).
const DrainFlag = "/var/lib/invenio-web/drain"

// DrainCommand is the command that drains a web host and puts it back.
const DrainCommand = "/usr/sbin/invenio-drain"

// AptDrainHook is the command apt runs before dpkg (DPkg::Pre-Install-Pkgs)
// to drain the host before an upgrade of the web tier is unpacked, and
// AptDrainConf the apt configuration that names it.
const (
	AptDrainHook = "/usr/libexec/invenio/apt-drain"
	AptDrainConf = "/etc/apt/apt.conf.d/50invenio-drain"
)

// AptDrainSays is what apt's hook prints, after the package's name, when
// it drains the host before an upgrade.
const AptDrainSays = "is about to be upgraded: draining this host first"

// drainData is the data of invenio-drain, its manual page and apt's hook.
// Every value is a constant or a validated name (instance, host name, unit
// and package names).
type drainData struct {
	Instance, Flag, Host       string
	Units                      []string
	DrainSeconds               int
	UIPort, APIPort, NginxPort int
	// Web and App are the packages whose upgrade drains the host first;
	// Hook and AptConf apt's hook and its configuration; Says what the
	// hook prints when it drains.
	Web, App, Hook, AptConf, Says string
}

// nginxPort is where NGINX serves the load balancer.
const nginxPort = 8080

// drainForWeb returns what invenio-web ships to drain the host: the
// command, its manual page, the flag's directory and apt's hook that drains
// the host before an upgrade is unpacked. units are the units that must be
// active before the host goes back into the load balancer.
func drainForWeb(c *Context, units []string) []packaging.File {
	d := drainData{
		Instance: c.Instance.Name, Flag: DrainFlag, Host: c.Hostname(), Units: units,
		DrainSeconds: c.DrainSeconds(), UIPort: uiPort, APIPort: apiPort, NginxPort: nginxPort,
		Web: "invenio-web", App: c.App().Package, Hook: AptDrainHook, AptConf: AptDrainConf, Says: AptDrainSays,
	}
	return []packaging.File{
		script(DrainCommand, "invenio-drain.tmpl", d),
		manPage("invenio-drain", 8, "invenio-drain.8.tmpl", d),
		dir(path.Dir(DrainFlag)),
		script(AptDrainHook, "invenio-apt-drain.tmpl", d),
		conf(AptDrainConf, "invenio-apt-drain.conf.tmpl", d),
	}
}

// DrainSeconds returns the instance's load_balancer.drain in whole seconds,
// rounded up.
func (c *Context) DrainSeconds() int {
	return int(math.Ceil(c.LoadBalancer().DrainTime().Seconds()))
}

// drainBeforeUpgrade drains the host before invenio-setup migrates and the
// units restart. apt's hook (AptDrainHook) has usually drained it already,
// before dpkg unpacked anything, and invenio-drain on then only waits for
// what is left of the drain time; this is the drain of an upgrade that
// apt did not run (dpkg -i) and of the first upgrade to a release with the
// hook. It runs in postinst, not preinst: the postinst of the new
// version is the one script that runs on every upgrade path — an upgrade of
// invenio-web (configure with the old version in $2) and an upgrade of the
// application package alone (this package's file trigger) — and it runs
// with the new invenio-drain and NGINX site file unpacked, which a preinst
// of the first version that drains could not rely on. Unpacking changes no
// running process: uWSGI and Celery keep the code they loaded until the
// restart, which comes after the drain. When both packages are upgraded in
// one run, the trigger does not run again after configure (dpkg drops the
// triggers of a package it unpacks: doc/spec/triggers.txt), so the host
// drains once. NGINX is reloaded first (requests
// in flight finish) so that it serves the site file just unpacked, with its
// /ping check of the flag.
const drainBeforeUpgrade = `if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    if systemctl --quiet is-active nginx.service && nginx -t -q 2>/dev/null; then
        deb-systemd-invoke reload nginx.service >/dev/null || true
    fi
    invenio-drain on --by upgrade
fi`

// rejoinAfterUpgrade puts the host back once its units are active and the
// UI and API answer; when they do not, the host stays drained and the
// package's configuration fails. A drain made by hand before the upgrade
// stays (invenio-drain off --by upgrade says so).
const rejoinAfterUpgrade = `if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && [ -e ` + DrainFlag + ` ]; then
    if ! invenio-drain off --by upgrade; then
        echo "invenio-web: the upgraded units do not answer: this host stays drained (/ping answers 503); see invenio-drain status, fix the cause, then run dpkg --configure -a or invenio-drain off" >&2
        exit 1
    fi
fi`

// DrainFlag returns DrainFlag, for the NGINX site's template.
func (c *Context) DrainFlag() string { return DrainFlag }
