package systemd

// Maint describes everything a package's maintainer scripts manage, so that
// Scripts can generate the scripts debhelper would (dh_installsysusers,
// dh_installtmpfiles, dh_installsystemd).
type Maint struct {
	// Package is the binary package's name.
	Package string
	// Units are the package's units with [Install] sections or that it starts.
	Units []UnitAction
	// Sysusers are basenames of files the package ships in /usr/lib/sysusers.d.
	Sysusers []string
	// Tmpfiles are basenames of files the package ships in /usr/lib/tmpfiles.d.
	Tmpfiles []string
	// Configure are shell snippets run by postinst on configure, after users
	// and tmpfiles exist and before units are enabled and started.
	Configure []string
	// Started are shell snippets run by postinst on configure after its units
	// were started or restarted (e.g. a check that they answer).
	Started []string
	// Triggered are shell snippets run by postinst when one of the package's
	// dpkg triggers fires (postinst triggered).
	Triggered []string
	// Remove are shell snippets run by postrm on remove (undo what Configure
	// did outside the package's own files, e.g. a symlink it made).
	Remove []string
	// Purge are shell snippets run by postrm on purge (remove generated files
	// and state; never user data and never the system user).
	Purge []string
}

// UnitAction says what the maintainer scripts do with one unit.
type UnitAction struct {
	// Name is the unit's name, e.g. "invenio-ui.service".
	Name string
	// Enable enables the unit through deb-systemd-helper (it has an [Install] section).
	Enable bool
	// Start starts the unit on install and restarts it on upgrade through deb-systemd-invoke.
	Start bool
	// NoRestart, with Start, starts the unit on upgrade too instead of
	// restarting it (debhelper's --no-restart-on-upgrade): the package
	// restarts it itself when its settings changed.
	NoRestart bool
	// Restart is for units the package only reconfigures (through a drop-in or
	// a config file): try-restart on configure so the new settings apply.
	Restart bool
	// Reload is for units the package only reconfigures and that take most
	// changes with a reload (nfs-server re-reads its exports): on configure
	// after an upgrade try-reload-or-restart, so clients are not disturbed,
	// and try-restart on a first installation, when settings that only a
	// restart applies are new too.
	Reload bool
}

// Scripts are the four maintainer scripts of a package; an empty string
// means the package does not ship that script.
type Scripts struct {
	Preinst  string
	Postinst string
	Prerm    string
	Postrm   string
}
