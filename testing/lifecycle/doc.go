// Package lifecycle tests the packages the way admins meet them: built by
// `invenio-infra packages`, published by `invenio-infra repo`, and installed,
// upgraded, removed, reinstalled and purged with apt in Debian 12 roots that
// mmdebstrap made from the host's mirror, over file:// and over http:// from
// a server on loopback, with signature checking on. Debian's piuparts runs
// on the same packages.
//
// The roots have a policy-rc.d that forbids starting daemons (exit 101, as
// piuparts and image bakes have it) and records what it was asked, and
// deb-systemd-invoke is diverted to a wrapper that records every call, so
// the tests see what would have been started, restarted and stopped. The
// directory /run/systemd/system exists, as on a booted VM, so the
// maintainer scripts take their systemd branch; SYSTEMD_OFFLINE=1 makes
// systemctl work on the files instead of a manager that does not run.
// Every command runs with /proc mounted (systemd-sysusers and -tmpfiles
// need it) in a private mount namespace that ends with the command.
//
// Two packages cannot exist here and are stood in for, in the instance's
// suite, with STAND-IN in their descriptions: the site's application package
// (default invenio-app-tugraz: uwsgi and celery stubs in the virtualenv and
// the instance path) and opensearch (its unit file and /etc/opensearch). The
// Debian packages the roles configure come from the host's mirror once, in
// the cached root; the tests then install from the local repository only.
//
// The package has no API: everything is in its tests.
package lifecycle
