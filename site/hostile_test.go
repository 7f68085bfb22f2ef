package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
)

// hostileBase is a valid three-host site with NFS storage that its
// services host serves and an apt source for the search engine: every
// hostile shape below is one edit of one of its lines.
const hostileBase = `name: example
maintainer: Repository Team <repository@example.org>
application:
  package: invenio-app-example
  virtualenv: /opt/invenio/venv
  instance_path: /opt/invenio/var/instance
search:
  engine: opensearch
  cluster_name: invenio
  apt:
    url: https://artifacts.example.org/opensearch/2.x/apt
    suite: stable
    components: [main]
    key: /etc/invenio-infra/opensearch.asc
mail:
  smarthost: smtp.example.org::587
storage:
  type: nfs
  server: services
  export: /srv/invenio/storage
  mountpoint: /storage
  options: [nfsvers=4.2, hard]
tls:
  certificate: /etc/ssl/certs/invenio.pem
  key: /etc/ssl/private/invenio.key
instances:
  - name: prod
    url: https://invenio.example.org
    repository: https://apt.example.org/invenio
    hosts:
      - {name: web1, address: 192.0.2.11, roles: [web], beat: true}
      - {name: web2, address: 192.0.2.12, roles: [web]}
      - {name: svc1, address: 192.0.2.13, roles: [services]}
`

// hostileShape is one site file that must not validate: hostileBase with
// old replaced by new; the error is at the line of old and says want.
type hostileShape struct {
	name, old, new, want string
}

// hostileShapes are the 35 hostile or broken site files of issue 12 that
// validated before, by what they tried.
var hostileShapes = []hostileShape{
	// Command execution.
	{"instance-path-command", "instance_path: /opt/invenio/var/instance", `instance_path: "/opt/$(id)/instance"`, `application.instance_path "/opt/$(id)/instance" contains the character '$'`},
	{"url-host-command", "url: https://invenio.example.org", `url: "https://a$(id).example.org"`, `instances[0].url "https://a$(id).example.org" contains the character '$'`},
	{"url-host-quotes", "url: https://invenio.example.org", `url: "https://a';x'.example.org"`, `contains the character '\''`},
	{"virtualenv-newline-execstartpre", "virtualenv: /opt/invenio/venv", `virtualenv: "/opt/venv\nExecStartPre=+/bin/sh"`, `application.virtualenv "/opt/venv\nExecStartPre=+/bin/sh" contains a line break`},
	{"mountpoint-newline", "mountpoint: /storage", `mountpoint: "/storage\nExecStartPre=+/bin/true"`, `storage.mountpoint "/storage\nExecStartPre=+/bin/true" contains a line break`},
	{"export-backtick", "export: /srv/invenio/storage", "export: \"/srv/`id`\"", "storage.export \"/srv/`id`\" contains the character '`'"},
	{"export-command-substitution", "export: /srv/invenio/storage", `export: "/srv/$(reboot)"`, `contains the character '$'`},
	{"export-newline-etc", "export: /srv/invenio/storage", `export: "/srv/x\n/etc"`, `storage.export "/srv/x\n/etc" contains a line break`},
	// Configuration injection.
	{"maintainer-newline-essential", "maintainer: Repository Team <repository@example.org>", `maintainer: "Team <t@example.org>\nEssential: yes"`, `maintainer "Team <t@example.org>\nEssential: yes" contains a line break`},
	{"storage-source-newline", "  server: services\n", "  source: \"nfs.example.org:/x\\nWhat=other:/x\"\n", `storage.source "nfs.example.org:/x\nWhat=other:/x" contains a line break`},
	{"mount-option-newline", "options: [nfsvers=4.2, hard]", `options: [nfsvers=4.2, "hard\nWhat=other:/x"]`, `storage.options[1] "hard\nWhat=other:/x" contains a line break`},
	{"tls-certificate-nginx-directive", "certificate: /etc/ssl/certs/invenio.pem", `certificate: "/etc/ssl/certs/invenio.pem; include /etc/passwd"`, `tls.certificate "/etc/ssl/certs/invenio.pem; include /etc/passwd" contains the character ';'`},
	{"tls-key-nginx-directive", "key: /etc/ssl/private/invenio.key", `key: "/k;ssl_verify_client off"`, `tls.key "/k;ssl_verify_client off" contains the character ';'`},
	{"apt-suite-trusted", "suite: stable", `suite: "stable\nTrusted: yes"`, `search.apt.suite "stable\nTrusted: yes" contains a line break`},
	{"apt-component-trusted", "components: [main]", `components: ["main\nTrusted: yes"]`, `search.apt.components[0] "main\nTrusted: yes" contains a line break`},
	{"cluster-name-unvalidated", "cluster_name: invenio", `cluster_name: "a b: c"`, `search.cluster_name "a b: c" is not a cluster name`},
	// Broken deployments.
	{"mountpoint-root", "mountpoint: /storage", "mountpoint: /", `storage.mountpoint "/" is the system directory /`},
	{"mountpoint-etc", "mountpoint: /storage", "mountpoint: /etc", `storage.mountpoint "/etc" is the system directory /etc`},
	{"export-etc", "export: /srv/invenio/storage", "export: /etc", `storage.export "/etc" is the system directory /etc`},
	{"path-with-space", "virtualenv: /opt/invenio/venv", `virtualenv: "/opt/invenio/my venv"`, `application.virtualenv "/opt/invenio/my venv" contains white space`},
	{"address-loopback", "address: 192.0.2.12", "address: 127.0.0.2", `instances[0].hosts[1].address "127.0.0.2" is a loopback address`},
	{"address-broadcast", "address: 192.0.2.12", "address: 192.0.2.255", `instances[0].hosts[1].address "192.0.2.255" is the broadcast address of the network 192.0.2.0/24`},
	{"address-network", "address: 192.0.2.12", "address: 192.0.2.0", `instances[0].hosts[1].address "192.0.2.0" is the address of the network 192.0.2.0/24`},
	{"hosts-no-common-network", "address: 192.0.2.12", "address: 198.51.100.12", `instances[0].hosts[1].address "198.51.100.12" is outside the network 192.0.2.0/24 of the instance's first host, and the instance has no gateway`},
	{"hosts-mixed-families", "address: 192.0.2.12", `address: "2001:db8::12"`, `instances[0].hosts[1].address "2001:db8::12" is IPv6, but host web1 has the IPv4 address 192.0.2.11`},
	{"host-names-differ-in-case", "name: web2,", "name: WEB1,", `host name "WEB1" is used twice`},
	{"urls-differ-in-case", "    hosts:\n      - {name: web1", "    hosts:\n      - {name: web1", ""},
	{"urls-differ-in-trailing-slash", "    hosts:\n      - {name: web1", "    hosts:\n      - {name: web1", ""},
	{"tls-same-path", "key: /etc/ssl/private/invenio.key", "key: /etc/ssl/certs/invenio.pem", "tls.key is the same file as tls.certificate"},
	{"name-one-megabyte", "cluster_name: invenio", "cluster_name: " + strings.Repeat("x", 1<<20), "search.cluster_name \"" + strings.Repeat("x", 60) + "…\" is longer than 1024 characters"},
	{"instance-name-300", "  - name: prod", "  - name: " + strings.Repeat("p", 300), `instances[0].name "` + strings.Repeat("p", 60) + `…" is 300 characters long; at most 32`},
	{"too-large-integer", "tls:\n", "sizing: {ui: {processes: 99999999999999999999999}}\ntls:\n", "sizing.ui.processes is out of range: 99999999999999999999999"},
	{"number-beyond-range", "tls:\n", "sizing: {celery: {concurrency: 100000}}\ntls:\n", "sizing.celery.concurrency is 100000; it must be at most 256"},
	{"undefined-alias", "cluster_name: invenio", "cluster_name: *nowhere", "define the anchor (&name) before an alias (*name) uses it"},
	{"mountpoint-hides-application", "mountpoint: /storage", "mountpoint: /opt/invenio", `storage.mountpoint "/opt/invenio" holds application.virtualenv /opt/invenio/venv, which the mount would hide`},
}

// secondInstance adds a second instance whose URL is new, for the shapes
// that need two URLs.
func secondInstance(url string) string {
	return fmt.Sprintf(`  - name: test
    url: %s
    repository: https://apt.example.org/invenio
    hosts:
      - {name: test1, address: 192.0.2.21, roles: [web, services], beat: true}
`, url)
}

// hostileFile returns the site file of a shape and the line its error is
// on.
func hostileFile(t testing.TB, sh hostileShape) ([]byte, int) {
	switch sh.name {
	case "urls-differ-in-case":
		return []byte(hostileBase + secondInstance("https://INVENIO.Example.org")), strings.Count(hostileBase, "\n") + 2
	case "urls-differ-in-trailing-slash":
		return []byte(hostileBase + secondInstance("https://invenio.example.org/")), strings.Count(hostileBase, "\n") + 2
	}
	i := strings.Index(hostileBase, sh.old)
	require.GreaterOrEqual(t, i, 0, "%s: %q is not in the base site", sh.name, sh.old)
	line := strings.Count(hostileBase[:i], "\n") + 1
	return []byte(strings.Replace(hostileBase, sh.old, sh.new, 1)), line
}

func TestHostileBaseIsValid(t *testing.T) {
	_, err := Parse("base.yaml", []byte(hostileBase))
	require.NoError(t, err)
	_, err = Parse("base.yaml", []byte(hostileBase+secondInstance("https://invenio-test.example.org")))
	require.NoError(t, err)
}

// TestHostileShapes checks that each hostile shape fails validation with
// an error at its line that says what is wrong.
func TestHostileShapes(t *testing.T) {
	require.Len(t, hostileShapes, 35)
	for _, sh := range hostileShapes {
		t.Run(sh.name, func(t *testing.T) {
			data, line := hostileFile(t, sh)
			// The files seed the render fuzz test (roles), which cannot
			// import this table; the megabyte one it makes itself.
			if len(data) < 64<<10 {
				golden.Assert(t, filepath.Join("testdata/hostile", sh.name+".yaml"), data)
			}
			s, err := Parse("hostile.yaml", data)
			require.Error(t, err)
			assert.Nil(t, s)
			var errs Errors
			require.True(t, errors.As(err, &errs), "want Errors, got %T", err)
			want := sh.want
			if want == "" {
				want = `url "https://invenio.example.org" is used twice`
				if sh.name == "urls-differ-in-case" {
					want = `url "https://INVENIO.Example.org" is used twice`
				}
				if sh.name == "urls-differ-in-trailing-slash" {
					want = `url "https://invenio.example.org/" is used twice`
				}
			}
			var found *Error
			for _, e := range errs {
				if strings.Contains(e.Msg, want) || strings.Contains(e.Hint, want) {
					found = e
				}
			}
			require.NotNil(t, found, "no error says %q in:\n%v", want, err)
			assert.Equal(t, line, found.Line, "error line: %v", found)
			assert.Positive(t, found.Col)
			assert.NotEmpty(t, found.Hint, "error without a hint: %v", found)
			assert.Regexp(t, `^hostile\.yaml:\d+:\d+: `, found.Error())
		})
	}
}

// TestHostileFiles checks the site files that are not files: a FIFO without
// a writer, /dev/zero, a directory and a file beyond the size limit each
// fail at once with Errors (exit status 2 in the CLI).
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "site.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("#\n"), MaxFileSize), 0o644))
	for name, tt := range map[string]struct{ path, want string }{
		"fifo":      {fifo, "is a FIFO, not a regular file"},
		"dev-zero":  {"/dev/zero", "is a character device, not a regular file"},
		"directory": {dir, "is a directory, not a regular file"},
		"too-large": {big, "is larger than 1 MiB, the limit of a site file"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := Load(tt.path)
			assert.Less(t, time.Since(start), time.Second)
			var errs Errors
			require.True(t, errors.As(err, &errs), "want Errors, got %T: %v", err, err)
			assert.Equal(t, tt.path+": "+tt.want, errs[0].Error()[:len(tt.path)+2+len(tt.want)])
		})
	}
}
