package systemd

import (
	"sort"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// systemdRunDir is the directory whose existence tells maintainer scripts
// that systemd is PID 1. Only tests use another one, to run the scripts on a
// host where it is missing.
const systemdRunDir = "/run/systemd/system"

// debhelperVersion is the debhelper release whose snippets the scripts copy.
const debhelperVersion = "13.24.2"

// configureOrAbort is debhelper's guard for postinst snippets.
const configureOrAbort = `if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then`

// Scripts generates the package's maintainer scripts: the argument check of
// dh_make's templates (every argument dpkg passes is accepted, anything else
// fails with a message), then exactly the snippets debhelper 13.24 adds
// (dh_installsysusers, dh_installtmpfiles, dh_installsystemd), with
// m.Configure, m.Remove and m.Purge at the places a maintainer puts them.
//
// Templates ("foo@.service") are neither enabled nor started, as in
// debhelper. postrm on purge runs `deb-systemd-helper purge` and nothing
// else for the units: debhelper stopped masking units on remove in 13.10
// (Debian bug #1021027) and so no longer unmasks them on purge.
// A script with nothing to do is "", and preinst always is.
func (m Maint) Scripts() Scripts { return m.scripts(systemdRunDir) }

// scripts is Scripts with the systemd run directory as a parameter.
func (m Maint) scripts(runDir string) Scripts {
	g := generator{m: m, runDir: runDir}
	return Scripts{Postinst: g.postinst(), Prerm: g.prerm(), Postrm: g.postrm()}
}

// generator writes one package's scripts.
type generator struct {
	m      Maint
	runDir string
}

// unitsWhere returns the sorted, de-duplicated names of the non-template
// units for which keep is true, as debhelper lists them.
func (g generator) unitsWhere(keep func(UnitAction) bool) []string {
	seen := map[string]bool{}
	var names []string
	for _, u := range g.m.Units {
		if keep(u) && !isTemplate(u.Name) && !seen[u.Name] {
			seen[u.Name] = true
			names = append(names, u.Name)
		}
	}
	sort.Strings(names)
	return names
}

func (g generator) enabled() []string {
	return g.unitsWhere(func(u UnitAction) bool { return u.Enable })
}

func (g generator) started() []string {
	return g.unitsWhere(func(u UnitAction) bool { return u.Start })
}

func (g generator) restarted() []string {
	return g.unitsWhere(func(u UnitAction) bool { return u.Restart && !u.Start })
}

func (g generator) reloaded() []string {
	return g.unitsWhere(func(u UnitAction) bool { return u.Reload && !u.Restart && !u.Start })
}

// postinst is the postinst, or "" when it has nothing to do.
func (g generator) postinst() string {
	var blocks []string
	for _, conf := range g.m.Sysusers {
		blocks = append(blocks, autoscript("dh_installsysusers", sysusersBlock(conf)))
	}
	if len(g.m.Tmpfiles) > 0 {
		blocks = append(blocks, autoscript("dh_installtmpfiles", tmpfilesBlock(g.m.Tmpfiles)))
	}
	if len(g.m.Configure) > 0 {
		blocks = append(blocks, onAction("configure", g.m.Configure))
	}
	if len(g.m.Triggered) > 0 {
		blocks = append(blocks, onAction("triggered", g.m.Triggered))
	}
	for _, u := range g.enabled() {
		blocks = append(blocks, autoscript("dh_installsystemd", enableBlock(u)))
	}
	if units := g.unitsWhere(func(u UnitAction) bool { return u.Start && !u.NoRestart }); len(units) > 0 {
		blocks = append(blocks, autoscript("dh_installsystemd", g.startBlock(units)))
	}
	if units := g.unitsWhere(func(u UnitAction) bool { return u.Start && u.NoRestart }); len(units) > 0 {
		blocks = append(blocks, autoscript("dh_installsystemd", g.startOnlyBlock(units)))
	}
	if units := g.restarted(); len(units) > 0 {
		blocks = append(blocks, autoscript("dh_installsystemd", g.tryRestartBlock(units)))
	}
	if units := g.reloaded(); len(units) > 0 {
		blocks = append(blocks, ownScript("reload on upgrade (no debhelper snippet does)", g.reloadBlock(units)))
	}
	if len(g.m.Started) > 0 {
		blocks = append(blocks, onAction("configure", g.m.Started))
	}
	return g.script("postinst", "configure|abort-upgrade|abort-deconfigure|abort-remove|triggered", blocks)
}

// prerm is the prerm: it stops started units on remove only.
func (g generator) prerm() string {
	units := g.started()
	if len(units) == 0 {
		return ""
	}
	block := `if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d ` + g.runDir + ` ] ; then
	deb-systemd-invoke stop ` + quoteAll(units) + ` >/dev/null || true
fi
`
	return g.script("prerm", "remove|upgrade|deconfigure|failed-upgrade",
		[]string{autoscript("dh_installsystemd", block)})
}

// postrm is the postrm: daemon-reload on remove, enable state purged on purge,
// then the package's own remove and purge snippets.
func (g generator) postrm() string {
	var blocks []string
	if len(g.m.Units) > 0 {
		blocks = append(blocks, autoscript("dh_installsystemd", `if [ "$1" = remove ] && [ -d `+g.runDir+` ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
`))
	}
	if units := g.enabled(); len(units) > 0 {
		blocks = append(blocks, autoscript("dh_installsystemd", `if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge `+quoteAll(units)+` >/dev/null || true
	fi
fi
`))
	}
	if len(g.m.Remove) > 0 {
		blocks = append(blocks, onAction("remove", g.m.Remove))
	}
	if len(g.m.Purge) > 0 {
		blocks = append(blocks, onAction("purge", g.m.Purge))
	}
	return g.script("postrm", "purge|remove|upgrade|disappear|failed-upgrade|abort-install|abort-upgrade", blocks)
}

// script assembles a script from dh_make's skeleton (header, set -e, the
// argument check, exit 0) around blocks; no blocks means no script.
func (g generator) script(name, accepted string, blocks []string) string {
	if len(blocks) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString("# " + name + g.forPackage() + ", generated by invenio-infra: dh_make's argument\n")
	b.WriteString("# check and the snippets debhelper " + debhelperVersion + " would add.\n")
	b.WriteString("set -e\n\n")
	b.WriteString(argumentCheck(name, accepted) + "\n")
	for _, bl := range blocks {
		b.WriteString(bl + "\n")
	}
	b.WriteString("exit 0\n")
	return b.String()
}

// forPackage is " of <package>" or nothing.
func (g generator) forPackage() string {
	if g.m.Package == "" {
		return ""
	}
	return " of " + g.m.Package
}

// argumentCheck is dh_make's case statement: accepted arguments pass,
// anything else is reported on stderr and fails the script.
func argumentCheck(name, accepted string) string {
	return `case "$1" in
	` + accepted + `)
		;;
	*)
		echo "` + name + ` called with unknown argument \` + "`" + `$1'" >&2
		exit 1
		;;
esac
`
}

// autoscript marks a block the way debhelper marks its snippets.
func autoscript(helper, block string) string {
	return "# Added by invenio-infra as " + helper + "/" + debhelperVersion + " would add it\n" +
		block + "# End of added section\n"
}

// ownScript marks a block of ours that no debhelper snippet matches.
func ownScript(what, block string) string {
	return "# Added by invenio-infra: " + what + "\n" + block + "# End of added section\n"
}

// onAction runs the package's snippets when the script's argument is action.
func onAction(action string, snippets []string) string {
	body := make([]string, len(snippets))
	for i, s := range snippets {
		body[i] = strings.TrimRight(s, "\n")
	}
	return `if [ "$1" = "` + action + `" ]; then` + "\n" + strings.Join(body, "\n\n") + "\nfi\n"
}

// sysusersBlock is dh_installsysusers' postinst snippet.
func sysusersBlock(conf string) string {
	return configureOrAbort + `
   systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} ` + escape.ShellIfNeeded(conf) + `
fi
`
}

// tmpfilesBlock is dh_installtmpfiles' postinst snippet.
func tmpfilesBlock(confs []string) string {
	q := make([]string, len(confs))
	for i, c := range confs {
		q[i] = escape.ShellIfNeeded(c)
	}
	return configureOrAbort + `
	if [ -x "$(command -v systemd-tmpfiles)" ]; then
		systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create ` + strings.Join(q, " ") + ` || true
	fi
fi
`
}

// enableBlock is dh_installsystemd's postinst-systemd-enable snippet.
func enableBlock(unit string) string {
	u := escape.Shell(unit)
	return configureOrAbort + `
	# The following line should be removed in trixie or trixie+1
	deb-systemd-helper unmask ` + u + ` >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled ` + u + `; then
		# Enables the unit on first installation, creates new
		# symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable ` + u + ` >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be
		# cleaned up on purge. Also remove old symlinks.
		deb-systemd-helper update-state ` + u + ` >/dev/null || true
	fi
fi
`
}

// startBlock is dh_installsystemd's postinst-systemd-restart snippet: start
// on a fresh install, restart on upgrade ($2, the old version, is set).
func (g generator) startBlock(units []string) string {
	return configureOrAbort + `
	if [ -z "${DPKG_ROOT:-}" ] && [ -d ` + g.runDir + ` ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action ` + quoteAll(units) + ` >/dev/null || true
	fi
fi
`
}

// startOnlyBlock is dh_installsystemd's postinst-systemd-start snippet
// (--no-restart-on-upgrade): start on install and on upgrade, never restart.
func (g generator) startOnlyBlock(units []string) string {
	return configureOrAbort + `
	if [ -z "${DPKG_ROOT:-}" ] && [ -d ` + g.runDir + ` ]; then
		systemctl --system daemon-reload >/dev/null || true
		deb-systemd-invoke start ` + quoteAll(units) + ` >/dev/null || true
	fi
fi
`
}

// tryRestartBlock restarts units the package only reconfigures, if they
// run, on every configure. It is debhelper's postinst-systemd-restartnostart
// snippet without its "upgrades only" test: the package's drop-in or config
// must apply from its first installation.
func (g generator) tryRestartBlock(units []string) string {
	return configureOrAbort + `
	if [ -z "${DPKG_ROOT:-}" ] && [ -d ` + g.runDir + ` ]; then
		systemctl --system daemon-reload >/dev/null || true
		deb-systemd-invoke try-restart ` + quoteAll(units) + ` >/dev/null || true
	fi
fi
`
}

// reloadBlock reloads units the package only reconfigures, if they run:
// try-reload-or-restart after an upgrade, try-restart on a first
// installation ($2, the old version, is empty): tryRestartBlock with an
// action chosen as startBlock chooses its own.
func (g generator) reloadBlock(units []string) string {
	return configureOrAbort + `
	if [ -z "${DPKG_ROOT:-}" ] && [ -d ` + g.runDir + ` ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=try-reload-or-restart
		else
			_dh_action=try-restart
		fi
		deb-systemd-invoke $_dh_action ` + quoteAll(units) + ` >/dev/null || true
	fi
fi
`
}

// quoteAll single-quotes each name, as debhelper quotes unit names.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = escape.Shell(n)
	}
	return strings.Join(q, " ")
}
