package site

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// validator checks the meaning of a decoded, defaulted site and points every
// problem at the node the file holds for it.
type validator struct {
	*errorList
	ps *positions
	s  *Site
	// reported are the fields whose strings are wrong for any field (see
	// strings); they get no second error.
	reported map[string]bool
}

// validate returns every semantic problem of s, whose fields are at ps in
// file.
func validate(file string, s *Site, ps *positions) Errors {
	v := &validator{errorList: &errorList{file: file}, ps: ps, s: s, reported: map[string]bool{}}
	v.strings()
	v.name("name", s.Name, "tugraz")
	v.maintainer()
	v.application()
	v.search()
	v.mail()
	v.storage()
	v.storageExtras()
	v.lifecycle()
	v.tls()
	v.access()
	v.sizing("sizing", &s.Sizing)
	v.instances()
	return v.errs
}

// bad records that the value at path is wrong for the reason err gives.
func (v *validator) bad(path, value string, err error, hint string) {
	if v.reported[path] {
		return
	}
	v.add(v.ps.at(path), hint, "%s %q %s", path, value, err)
}

// errAt records an error about the field at path.
func (v *validator) errAt(path, hint, format string, args ...any) {
	if v.reported[path] {
		return
	}
	v.add(v.ps.at(path), hint, format, args...)
}

// present reports whether a required string is set. When it is not, it
// records an error at the empty value, or at the mapping that lacks the key,
// with a hint that shows the key with an example value.
func (v *validator) present(path, value, example string) bool {
	if value != "" {
		return true
	}
	key, parent := lastKey(path), parentPath(path)
	if _, ok := v.ps.keys[path]; ok {
		v.add(v.ps.keyAt(path), fmt.Sprintf("e.g. %s: %s", key, example), "%s is empty", path)
		return false
	}
	hint := fmt.Sprintf("add %s: %s", key, example)
	if parent != "" {
		hint += " under " + parent
	}
	v.add(v.ps.at(path), hint, "%s is missing", path)
	return false
}

// name checks a site or instance name.
func (v *validator) name(path, value, example string) {
	if !v.present(path, value, example) {
		return
	}
	if !namePattern.MatchString(value) {
		v.bad(path, value, fmt.Errorf("does not match %s", namePattern),
			"use lower-case letters, digits and dashes, starting with a letter, e.g. "+example)
	} else if len(value) > maxName {
		v.bad(path, shorten(value), fmt.Errorf("is %d characters long; at most %d", len(value), maxName),
			"a name is part of file names, apt suites and unit lines: keep it short, e.g. "+example)
	}
}

// maintainer checks the Maintainer field every package carries; Debian
// requires a real name and mail address there.
func (v *validator) maintainer() {
	m := v.s.Maintainer
	if !v.present("maintainer", m, "Repository Team <repository@example.org>") {
		return
	}
	if err := checkLine(m, maxText); err != nil {
		v.bad("maintainer", shorten(m), err, "write one line: a name and an address, e.g. Repository Team <repository@example.org>")
	} else if !maintainerPattern.MatchString(m) {
		v.bad("maintainer", m, errors.New("is not \"Name <mail@domain>\""),
			"write a name and an address in angle brackets, e.g. Repository Team <repository@example.org>")
	}
}

// application checks the application package, its paths and entry points.
func (v *validator) application() {
	a := v.s.Application
	if v.present("application.package", a.Package, "invenio-app") &&
		!packagePattern.MatchString(a.Package) {
		v.bad("application.package", a.Package, errors.New("is not a Debian package name"),
			"use lower-case letters, digits and + - . (at least two characters), e.g. invenio-app")
	} else if len(a.Package) > maxPackageName {
		v.bad("application.package", shorten(a.Package), fmt.Errorf("is %d characters long; at most %d", len(a.Package), maxPackageName),
			"a package name is part of file names: keep it short, e.g. invenio-app")
	}
	venv := v.dataDir("application.virtualenv", a.Virtualenv, "/opt/invenio/venv")
	inst := v.dataDir("application.instance_path", a.InstancePath, "/opt/invenio/var/instance")
	if venv && inst && a.Virtualenv == a.InstancePath {
		v.errAt("application.instance_path", "keep the instance's data apart from the virtualenv, e.g. /opt/invenio/var/instance",
			"application.instance_path is the same directory as application.virtualenv")
	}
	v.module("application.ui_module", a.UIModule, "invenio_app.wsgi_ui:application")
	v.module("application.api_module", a.APIModule, "invenio_app.wsgi_rest:application")
	if v.present("application.celery_app", a.CeleryApp, "invenio_app.celery") && !dottedName.MatchString(a.CeleryApp) {
		v.bad("application.celery_app", a.CeleryApp, errors.New("is not a dotted Python name"),
			"write the module that holds the Celery app, e.g. invenio_app.celery")
	}
	v.count("application.uid", a.UID, 100, 60000)
	if a.JobsScheduler != "" && !wsgiModule.MatchString(a.JobsScheduler) {
		v.bad("application.jobs_scheduler", a.JobsScheduler, errors.New("is not a scheduler class reference"),
			"write package.module:Class, e.g. invenio_jobs.services.scheduler:RunScheduler")
	}
}

// absPath checks a required absolute path.
func (v *validator) absPath(path, value, example string) {
	v.absPathOK(path, value, example)
}

// absPathOK checks a required absolute path and reports whether it is one.
func (v *validator) absPathOK(path, value, example string) bool {
	if !v.present(path, value, example) || v.reported[path] {
		return false
	}
	if err := checkAbsPath(value); err != nil {
		v.bad(path, value, err, "write an absolute path, e.g. "+example)
		return false
	}
	if err := checkPathChars(value); err != nil {
		v.bad(path, value, err, "write a path of plain names, e.g. "+example)
		return false
	}
	if len(value) > maxPath {
		v.bad(path, shorten(value), fmt.Errorf("is %d characters long; at most %d", len(value), maxPath), "write a shorter path, e.g. "+example)
		return false
	}
	return true
}

// dataDir checks a required directory of the site's programs: an absolute
// path that is not a directory of the system, and reports whether it is
// one.
func (v *validator) dataDir(path, value, example string) bool {
	if !v.absPathOK(path, value, example) {
		return false
	}
	if err := checkDataDir(value); err != nil {
		v.bad(path, value, err, "give it a directory of its own, e.g. "+example)
		return false
	}
	return true
}

// module checks a uWSGI module reference.
func (v *validator) module(path, value, example string) {
	if v.present(path, value, example) && !wsgiModule.MatchString(value) {
		v.bad(path, value, errors.New("is not a uWSGI module reference"),
			"write package.module:attribute, e.g. "+example)
	}
}

// search checks the engine and where its package comes from.
func (v *validator) search() {
	sr := v.s.Search
	engines := []string{string(OpenSearch), string(Elasticsearch)}
	if !slices.Contains(engines, string(sr.Engine)) {
		v.bad("search.engine", string(sr.Engine), errors.New("is not a search engine"), suggest(string(sr.Engine), engines))
	}
	if sr.Apt != nil && sr.Deb != "" {
		v.errAt("search.deb", "keep apt for a repository or deb for a local package file, not both",
			"search has both apt and deb")
	}
	if sr.ClusterName != "" && !clusterName.MatchString(sr.ClusterName) {
		v.bad("search.cluster_name", shorten(sr.ClusterName), errors.New("is not a cluster name"),
			"use letters, digits and . _ - (at most 64, starting with a letter or digit), e.g. invenio")
	}
	if sr.Deb != "" && !strings.HasSuffix(sr.Deb, ".deb") {
		v.bad("search.deb", sr.Deb, errors.New("is not a .deb file"), "name the engine's package file, e.g. /srv/opensearch-2.19.1-linux-x64.deb")
	}
	if sr.Apt != nil {
		v.aptSource("search.apt", sr.Apt)
	}
	v.dataDir("search.snapshots.path", sr.Snapshots.Path, DefaultSnapshotPath)
	v.count("search.snapshots.keep", sr.Snapshots.Keep, 1, 366)
}

// aptSource checks an extra apt source.
func (v *validator) aptSource(path string, a *AptSource) {
	if v.present(path+".url", a.URL, "https://apt.example.org/opensearch/2.x/apt") {
		if err := checkURL(a.URL, repositoryURL); err != nil {
			v.bad(path+".url", a.URL, err, "e.g. https://apt.example.org/opensearch/2.x/apt")
		}
	}
	if v.present(path+".suite", a.Suite, "stable") && !aptWord.MatchString(a.Suite) {
		v.bad(path+".suite", shorten(a.Suite), errors.New("is not an apt suite"), "write one suite of letters, digits and . _ - + ~ /, e.g. stable")
	}
	for i, c := range a.Components {
		if !aptWord.MatchString(c) {
			p := indexPath(path+".components", i)
			v.bad(p, shorten(c), errors.New("is not a component"), "write one component per list item, e.g. [main]")
		}
	}
	v.absPath(path+".key", a.Key, "/etc/invenio-infra/opensearch.asc")
}

// mail checks the smarthost and the sender domain.
func (v *validator) mail() {
	m := v.s.Mail
	hint := "write host or host::port, e.g. smtp.example.org::587"
	if v.present("mail.smarthost", m.Smarthost, "smtp.example.org::587") {
		if err := checkSmarthost(m.Smarthost); err != nil {
			v.bad("mail.smarthost", m.Smarthost, err, hint)
		}
	}
	if m.SenderDomain != "" {
		if err := checkDomain(m.SenderDomain); err != nil {
			v.bad("mail.sender_domain", m.SenderDomain, err, "write a domain, e.g. example.org")
		}
	}
}

// storage checks the shared storage: its type, where it comes from (a
// source, or the services host as server), its paths and mount options.
func (v *validator) storage() {
	st := v.s.Storage
	types := []string{string(StorageNone), string(StorageCephFS), string(StorageNFS)}
	switch {
	case !slices.Contains(types, string(st.Type)):
		v.bad("storage.type", string(st.Type), errors.New("is not a storage type"), suggest(string(st.Type), types))
	case st.Type == StorageNone:
		v.unusedWithoutType("storage.source", st.Source, "type: cephfs or type: nfs")
		v.unusedWithoutType("storage.server", string(st.Server), "type: nfs")
	case st.Server != "":
		v.storageServer(st)
	default:
		v.present("storage.source", st.Source, storageExample(st.Type))
	}
	if st.Server == "" && st.Export != "" {
		v.errAt("storage.export", "add server: services, or leave export out: source names the export of a server of your own",
			"storage.export is set but storage.server is not")
	}
	if st.Source != "" && !mountSource.MatchString(st.Source) {
		v.bad("storage.source", shorten(st.Source), errors.New("is not a mount source"),
			"write server:/path, or monitors,separated,by,commas:/path, e.g. "+storageExample(st.Type))
	}
	v.mountpoint(st.Mountpoint)
	for i, o := range st.Options {
		if !mountOption.MatchString(o) {
			v.bad(indexPath("storage.options", i), o, errors.New("is not a single mount option"),
				"write one option per list item, e.g. [noatime, _netdev]")
		}
	}
}

// unusedWithoutType reports a storage key that is set while the type is none.
func (v *validator) unusedWithoutType(path, value, types string) {
	if value != "" {
		v.errAt(path, fmt.Sprintf("set %s, or remove %s", types, lastKey(path)),
			"%s is set but storage.type is none", path)
	}
}

// storageServer checks storage that the services host serves: over NFS,
// instead of a source, from a clean absolute directory.
func (v *validator) storageServer(st Storage) {
	servers := []string{string(RoleServices)}
	switch {
	case !slices.Contains(servers, string(st.Server)):
		v.bad("storage.server", string(st.Server), errors.New("is not a host that can serve the storage"), suggest(string(st.Server), servers))
	case st.Source != "":
		v.errAt("storage.server", "keep source for an NFS server of your own, or server: services to have each instance's services host export it, not both",
			"storage has both source and server")
	case st.Type != StorageNFS:
		v.errAt("storage.server", "set type: nfs, or name the Ceph monitors in source instead of server",
			"storage.server is set but storage.type is %s; the services host serves NFS only", st.Type)
	}
	v.dataDir("storage.export", st.Export, DefaultExport)
}

// storageExample returns a typical mount source of a storage type.
func storageExample(t StorageType) string {
	if t == StorageCephFS {
		return "mon1.example.org,mon2.example.org:/invenio"
	}
	return "nfs.example.org:/export/invenio"
}

// mountpoint checks where the web hosts mount the shared storage: a
// directory of its own, outside the application's, whose mount unit name
// systemd takes.
func (v *validator) mountpoint(m string) {
	if !v.dataDir("storage.mountpoint", m, DefaultMountpoint) {
		return
	}
	if err := checkMountUnitName(m); err != nil {
		v.bad("storage.mountpoint", m, err, "write a shorter path, e.g. "+DefaultMountpoint)
		return
	}
	a := v.s.Application
	for _, d := range []struct{ path, value string }{
		{"application.virtualenv", a.Virtualenv}, {"application.instance_path", a.InstancePath},
	} {
		if d.value != "" && within(d.value, m) {
			v.bad("storage.mountpoint", m, fmt.Errorf("holds %s %s, which the mount would hide", d.path, d.value),
				"mount the storage at a directory of its own, e.g. "+DefaultMountpoint)
		}
	}
}

// tls checks the certificate and key paths, which must be two files.
func (v *validator) tls() {
	cert := v.absPathOK("tls.certificate", v.s.TLS.Certificate, "/etc/ssl/certs/invenio.pem")
	key := v.absPathOK("tls.key", v.s.TLS.Key, "/etc/ssl/private/invenio.key")
	if cert && key && v.s.TLS.Certificate == v.s.TLS.Key {
		v.errAt("tls.key", "keep the private key in a file of its own, e.g. /etc/ssl/private/invenio.key",
			"tls.key is the same file as tls.certificate")
	}
}
