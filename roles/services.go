package roles

import (
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/systemd"
)

// provisionData is the data of the provisioning units.
type provisionData struct {
	GenerateSecrets bool
	Hardening       systemd.HardenOptions
}

// services is invenio-services: the metapackage of the services host, with
// the provisioning unit that creates the database, broker user and Redis auth
// at boot, once secrets are present.
func services(c *Context) packaging.Spec {
	// An instance whose only host does everything may make its own secrets.
	data := provisionData{
		GenerateSecrets: len(c.Instance.Hosts) == 1,
		Hardening: systemd.HardenOptions{
			// psql and rabbitmqctl run as postgres and rabbitmq (runuser, su);
			// the steps that write files as root run as ExecStartPre=+.
			Root:           true,
			Network:        true,
			IPAddressAllow: []string{"localhost"},
			ReadWritePaths: []string{"/var/lib/rabbitmq", "/var/log/rabbitmq", "-/run/postgresql"},
			Capabilities:   []string{"CAP_SETUID", "CAP_SETGID"},
		},
	}
	nfsNote, nfsDepends := "", []packaging.Relation(nil)
	if c.ExportsStorage() {
		nfsNote = ", and the NFS export of the shared storage,"
		nfsDepends = []packaging.Relation{packaging.SameVersion("invenio-nfs")}
	}
	return packaging.Spec{
		Name:     "invenio-services",
		Section:  "admin",
		Synopsis: "InvenioRDM services host for the " + c.Instance.Name + " instance",
		Description: "Installs and configures PostgreSQL, Redis, RabbitMQ, the search engine\n" +
			"and Exim4" + nfsNote + " for the " + c.Instance.Name + " instance, and provisions them at boot: once\n" +
			"/etc/invenio/secrets.env is present, invenio-provision.service creates the\n" +
			"invenio database role and database, sets the Redis password and the\n" +
			"RabbitMQ user's (and deletes guest on a node made before\n" +
			"invenio-rabbitmq). It runs again whenever the secrets file changes.",
		Depends: append([]packaging.Relation{
			packaging.SameVersion("invenio-common"),
			packaging.SameVersion("invenio-postgresql"),
			packaging.SameVersion("invenio-redis"),
			packaging.SameVersion("invenio-rabbitmq"),
			packaging.SameVersion("invenio-search"),
			packaging.SameVersion("invenio-mail"),
		}, nfsDepends...),
		Files: []packaging.File{
			script("/usr/libexec/invenio/provision", "provision.tmpl", c),
			unitFile("invenio-provision.service", "provision.service.tmpl", data),
			unitFile("invenio-provision.path", "provision.path.tmpl", data),
		},
		Maint: systemd.Maint{Units: []systemd.UnitAction{
			{Name: "invenio-provision.service", Enable: true, Start: true},
			{Name: "invenio-provision.path", Enable: true, Start: true},
		}},
	}
}

// postgresql is invenio-postgresql: tuning, listen address, TLS and a pg_hba
// that lets only the instance's web hosts in, with scram-sha-256.
func postgresql(c *Context) packaging.Spec {
	v := c.PGVersion()
	link := "/etc/postgresql/" + v + "/main/conf.d/50-invenio.conf"
	unit := "postgresql@" + v + "-main.service"
	settings := []packaging.File{
		conf("/etc/invenio/postgresql/invenio.conf", "postgresql.conf.tmpl", c),
		conf("/etc/invenio/postgresql/pg_hba.conf", "pg_hba.conf.tmpl", c),
		dropIn("postgresql@.service", systemd.PostgreSQLDropIn()),
	}
	return packaging.Spec{
		Name:     "invenio-postgresql",
		Section:  "database",
		Synopsis: "PostgreSQL settings for InvenioRDM, " + c.Instance.Name + " instance",
		Description: "Configures the main PostgreSQL " + v + " cluster for the " + c.Instance.Name + " instance:\n" +
			"it listens on localhost and " + c.ServicesAddr() + " only, requires TLS and\n" +
			"scram-sha-256 from the instance's web hosts, and is sized by the site file.\n" +
			"The settings live in /etc/invenio/postgresql and are linked into the\n" +
			"cluster's conf.d; the service is hardened by a systemd drop-in.",
		Depends: []packaging.Relation{packaging.SameVersion("invenio-common"), packaging.Dep("postgresql-" + v)},
		Files:   append([]packaging.File{dir("/etc/invenio/postgresql")}, settings...),
		Maint: systemd.Maint{
			Configure: []string{
				"if [ -d /etc/postgresql/" + v + "/main/conf.d ] && [ ! -e " + link + " ]; then\n" +
					"    ln -s /etc/invenio/postgresql/invenio.conf " + link + "\n" +
					"fi",
				restartOnChange(unit, pathsOf(settings)...),
			},
			Remove: []string{"rm -f " + link},
			Purge:  []string{"rm -f " + link, forgetRestart(unit)},
			// Restarted by the Configure snippet, only when settings changed;
			// listed for the daemon-reload on remove (the drop-in goes).
			Units: []systemd.UnitAction{{Name: unit}},
		},
	}
}

// redisSessions is the data of the sessions Redis's unit.
type redisSessions struct {
	Instance  string
	Hardening systemd.HardenOptions
}

// redis is invenio-redis: Debian's redis.conf plus bind, memory policy and
// auth, run through a drop-in, and a second Redis that keeps the sessions
// and never evicts (see redis-sessions.conf.tmpl for why).
func redis(c *Context) packaging.Spec {
	sessions := redisSessions{
		Instance:  c.Instance.Name,
		Hardening: systemd.HardenOptions{ReadWritePaths: []string{"/var/lib/redis"}, Network: true},
	}
	main := []packaging.File{
		conf("/etc/redis/invenio.conf", "redis.conf.tmpl", c),
		dropIn("redis-server.service", systemd.RedisDropIn()),
	}
	sessionFiles := []packaging.File{
		conf("/etc/redis/invenio-sessions.conf", "redis-sessions.conf.tmpl", c),
		unitFile("invenio-redis-sessions.service", "redis-sessions.service.tmpl", sessions),
	}
	return packaging.Spec{
		Name:     "invenio-redis",
		Section:  "database",
		Synopsis: "Redis settings for InvenioRDM, " + c.Instance.Name + " instance",
		Description: "Runs Debian's Redis with /etc/redis/invenio.conf, which includes Debian's\n" +
			"redis.conf and binds to localhost and " + c.ServicesAddr() + ", sets maxmemory\n" +
			"and its policy, and requires the password from /etc/invenio/secrets.env.\n" +
			"Without that file Redis gets a random password nobody knows, never none.\n" +
			"The users' sessions live in a second Redis on port 6380,\n" +
			"invenio-redis-sessions.service, which never evicts.",
		Depends: []packaging.Relation{packaging.SameVersion("invenio-common"), packaging.Dep("redis-server")},
		Files: append(append([]packaging.File{script("/usr/libexec/invenio/redis-auth", "redis-auth.tmpl", c)},
			main...), sessionFiles...),
		Maint: systemd.Maint{
			Configure: []string{
				restartOnChange("redis-server.service", pathsOf(main)...),
				restartOnChange("invenio-redis-sessions.service", pathsOf(sessionFiles)...),
			},
			Purge: []string{"rm -f /etc/redis/invenio-auth.conf /var/lib/redis/invenio-sessions.rdb",
				forgetRestart("redis-server.service"), forgetRestart("invenio-redis-sessions.service")},
			// Restarted by the Configure snippets, only when settings changed.
			Units: []systemd.UnitAction{
				{Name: "redis-server.service"},
				{Name: "invenio-redis-sessions.service", Enable: true, Start: true, NoRestart: true},
			},
		},
	}
}

// rabbitmq is invenio-rabbitmq: listeners on the internal address, the
// invenio vhost and user as definitions imported at start, no guest, and a
// file-descriptor limit.
func rabbitmq(c *Context) packaging.Spec {
	files := []packaging.File{
		conf("/etc/rabbitmq/conf.d/50-invenio.conf", "rabbitmq.conf.tmpl", c),
		script(systemd.RabbitMQDefinitions, "rabbitmq-definitions.tmpl", c),
		dropIn("rabbitmq-server.service", systemd.RabbitMQDropIn()),
	}
	return packaging.Spec{
		Name:     "invenio-rabbitmq",
		Section:  "net",
		Synopsis: "RabbitMQ settings for InvenioRDM, " + c.Instance.Name + " instance",
		Description: "Configures RabbitMQ through conf.d to listen on localhost and\n" +
			c.ServicesAddr() + " only and to import the invenio vhost, user and\n" +
			"permissions at every start from definitions written from\n" +
			"/etc/invenio/secrets.env (a new node never creates guest; on an older one\n" +
			"invenio-provision deletes it), keeps Erlang distribution on loopback,\n" +
			"and raises the file-descriptor limit and hardens the service through a\n" +
			"drop-in.",
		Depends: []packaging.Relation{packaging.SameVersion("invenio-common"), packaging.Dep("rabbitmq-server")},
		Files:   files,
		Maint: systemd.Maint{
			Configure: []string{restartOnChange("rabbitmq-server.service", pathsOf(files)...)},
			Purge: []string{"rm -f /etc/rabbitmq/invenio-definitions.json /var/lib/rabbitmq/.invenio-no-guest",
				forgetRestart("rabbitmq-server.service")},
			Units: []systemd.UnitAction{{Name: "rabbitmq-server.service"}},
		},
	}
}

// mail is invenio-mail: Exim4 as a satellite that relays the web hosts' mail
// to the smarthost and listens internally only.
func mail(c *Context) packaging.Spec {
	files := []packaging.File{
		conf("/etc/invenio/exim4.conf", "exim4.conf.tmpl", c),
		script("/usr/libexec/invenio/exim4-apply", "exim4-apply.tmpl", c),
		dropIn("exim4.service", systemd.Exim4DropIn()),
	}
	return packaging.Spec{
		Name:     "invenio-mail",
		Section:  "mail",
		Synopsis: "Exim4 satellite for InvenioRDM, " + c.Instance.Name + " instance",
		Description: "Configures Exim4 as a satellite: it listens on localhost and\n" +
			c.ServicesAddr() + ", relays mail only for the instance's web hosts, and\n" +
			"sends everything to " + c.Site.Mail.Smarthost + ". The settings in\n" +
			"/etc/invenio/exim4.conf are applied to update-exim4.conf.conf on configure\n" +
			"and Debian's values are put back on remove.",
		Depends: []packaging.Relation{packaging.SameVersion("invenio-common"), packaging.Dep("exim4-daemon-light"), packaging.Dep("exim4-config")},
		Files:   files,
		Maint: systemd.Maint{
			// exim4-apply writes update-exim4.conf.conf from our settings first.
			Configure: []string{"/usr/libexec/invenio/exim4-apply",
				restartOnChange("exim4.service", append(pathsOf(files), "/etc/exim4/update-exim4.conf.conf")...)},
			// Exim's own settings go back to what they were on remove.
			Remove: []string{string(render("exim4-restore.tmpl", c))},
			Purge:  []string{"rm -rf /var/lib/invenio-mail", forgetRestart("exim4.service")},
			Units:  []systemd.UnitAction{{Name: "exim4.service"}},
		},
	}
}
