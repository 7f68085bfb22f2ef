package roles

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// RestartState is where the services host's packages keep, per daemon, the
// checksum of the settings it was last (re)started with.
const RestartState = "/var/lib/invenio-infra/restart"

// restartOnChange returns a configure snippet that try-restarts unit only
// when the files it reads (our settings, drop-in or unit) differ from those
// it was last restarted with, so that an upgrade of ours that changes
// nothing of a daemon leaves it serving: PostgreSQL, Redis and RabbitMQ
// restarts cost the web tier its connections. A checksum kept under
// RestartState decides, not a dpkg trigger: dpkg activates a file trigger
// whenever a package ships the file, changed or not. The daemon's own
// Debian package restarts it when that package is upgraded. The checksum is
// recorded in a chroot too (no restart there): the daemon starts with these
// files at first boot. Missing files (an admin removed a conffile) count as
// empty.
func restartOnChange(unit string, files ...string) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = `"${DPKG_ROOT:-}"` + escape.ShellIfNeeded(f)
	}
	u := escape.ShellIfNeeded(unit)
	return `# Restart ` + unit + ` only when its settings changed.
_sum=$(cat ` + strings.Join(q, " ") + ` 2>/dev/null | sha256sum | cut -d' ' -f1)
_state="${DPKG_ROOT:-}"` + RestartState + `/` + u + `
if [ "$(cat "$_state" 2>/dev/null || true)" != "$_sum" ]; then
    if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        deb-systemd-invoke try-restart ` + u + ` >/dev/null || true
    fi
    mkdir -p "${_state%/*}"
    echo "$_sum" >"$_state"
fi`
}

// forgetRestart is the purge snippet that drops a unit's checksum.
func forgetRestart(unit string) string {
	return `rm -f ` + RestartState + `/` + escape.ShellIfNeeded(unit) + "\nrmdir --ignore-fail-on-non-empty " +
		RestartState + " /var/lib/invenio-infra 2>/dev/null || true"
}

// pathsOf returns the paths of files.
func pathsOf(files []packaging.File) []string {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return paths
}
