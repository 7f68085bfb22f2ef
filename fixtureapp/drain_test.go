package fixtureapp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
)

// testDrain is the drain time of the tests' site: short, and long enough to
// be seen waiting.
const testDrain = "2s"

// standInDir holds the systemd STAND-INs of the failed-upgrade step. It is
// on the PATH of invenio-web's postinst only, first, as /usr/local/sbin is
// on dpkg's.
const standInDir = "/tmp/systemd-standin"

// systemdStandIns stand in for systemd in the root, which has none: the
// calls invenio-web's postinst makes when the application package changes
// (its dpkg trigger), done as systemd would do them here — the set-up
// unit's ExecStart as its user, a reload of NGINX — and every call logged.
// The real ones run in the boot tests.
var systemdStandIns = map[string]string{
	"systemctl": `#!/bin/sh
# STAND-IN for systemctl: this root runs no systemd.
echo "systemctl $*" >>/tmp/invocations.log
case "$*" in
*daemon-reload*) exit 0 ;;
*"is-active nginx.service") [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null ;;
"start ` + roles.SetupUnit + `")
    # shellcheck disable=SC2046 # the unit's ExecStart, as its User
    runuser -u invenio -- $(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/` + roles.SetupUnit + `) >>/tmp/setup-journal.log 2>&1 ;;
*) echo "systemctl STAND-IN: not here: $*" >&2; exit 1 ;;
esac
`,
	"deb-systemd-invoke": `#!/bin/sh
# STAND-IN for deb-systemd-invoke: what systemd would do, here.
echo "deb-systemd-invoke $*" >>/tmp/invocations.log
case "$*" in
"reload nginx.service") nginx -s reload ;;
*) echo "deb-systemd-invoke STAND-IN: not run: $*" ;;
esac
`,
	"journalctl": `#!/bin/sh
# STAND-IN for journalctl: the set-up unit's output.
tail -n 40 /tmp/setup-journal.log
`,
}

// prepareDrain readies the root for the failed-upgrade step: the systemd
// STAND-INs, invenio-web's postinst from its package, NGINX's site enabled
// with the ssl-cert package's snakeoil certificate at the site's TLS paths.
func prepareDrain(t *testing.T, root string, s *site.Site, debs []string) {
	t.Helper()
	for name, body := range systemdStandIns {
		p := filepath.Join(root, standInDir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o755))
	}
	var web string
	for _, d := range debs {
		if strings.HasPrefix(filepath.Base(d), "invenio-web_") {
			web = d
		}
	}
	require.NotEmpty(t, web, "invenio-web's package")
	ctrl := t.TempDir()
	out, err := exec.Command("dpkg-deb", "-e", web, ctrl).CombinedOutput()
	require.NoError(t, err, string(out))
	copyInto(t, root, filepath.Join(ctrl, "postinst"), "/tmp/invenio-web.postinst")
	for _, c := range [][]string{
		{"cp", "/etc/ssl/certs/ssl-cert-snakeoil.pem", s.TLS.Certificate},
		{"cp", "/etc/ssl/private/ssl-cert-snakeoil.key", s.TLS.Key},
		{"ln", "-sf", "../sites-available/invenio", "/etc/nginx/sites-enabled/invenio"},
		{"rm", "-f", "/etc/nginx/sites-enabled/default"},
	} {
		out, err := debroot.Chroot(t, root, c...)
		require.NoError(t, err, out)
	}
}

// httpsClient is the test client for NGINX on :8080: LABEL PATH, printing
// "LABEL: STATUS BODY" (the certificate is the snakeoil one, not checked).
const httpsClient = `
import http.client, ssl, sys
label, host, path = sys.argv[1:4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", 8080, timeout=20, context=ctx)
c.request("GET", path, headers={"Host": host})
r = c.getresponse()
print("%s: %d %s" % (label, r.status, r.read().decode().replace("\n", " ").strip()))
`

// drainedBrokenUpgrade is the failed upgrade as an admin meets it: NGINX
// serves the site in front of the running uWSGI applications, the broken
// release of the application package is installed, and invenio-web's
// postinst runs as its dpkg trigger runs it. The postinst drains the host,
// runs the set-up unit, whose migration fails, and exits with the error;
// the host stays drained (/ping 503, the API serving) until invenio-drain
// off, which finds the UI and the API answering and puts it back.
func drainedBrokenUpgrade(host, venv string) string {
	nginx := func(label, path string) string {
		return `chroot "$R" python3 /tmp/https.py "` + label + `" ` + host + ` ` + path
	}
	return `
cat >"$R/tmp/https.py" <<'EOF'
` + httpsClient + `
EOF
chroot "$R" nginx -t -q || fail "nginx -t"
chroot "$R" nginx || fail "nginx"
i=0
until chroot "$R" python3 /tmp/https.py ping ` + host + ` /ping 2>/dev/null | grep -q "ping: 200"; do
    i=$((i+1)); [ $i -lt 60 ] || fail "nginx not ready"; sleep 0.5
done
` + nginx("nginx /ping before", "/ping") + `
echo "drain status before: $(chroot "$R" invenio-drain status)"
# A release whose migration fails: dpkg runs invenio-web's postinst for its trigger.
chroot "$R" dpkg --install /tmp/app-broken.deb >/dev/null || fail "dpkg --install the broken release"
mkdir -p "$R/run/systemd/system"
start=$(date +%s)
if chroot "$R" env PATH=` + standInDir + `:` + debroot.ChrootPath + ` sh /tmp/invenio-web.postinst triggered ` + venv + ` >"$R/tmp/broken.log" 2>&1; then
    cat "$R/tmp/broken.log"; fail "the broken upgrade succeeded"
fi
echo "postinst failed after $(($(date +%s) - start))s"
rmdir "$R/run/systemd/system"
st=$(chroot "$R" invenio-drain status) && rc=0 || rc=$?
echo "drain status after: $st exit $rc"
` + nginx("nginx /ping drained", "/ping") + `
` + nginx("nginx /api/ping drained", "/api/ping") + `
` + nginx("nginx record drained", "/api/fixture/records/1") + `
echo "invocations: $(tr '\n' ';' <"$R/tmp/invocations.log")"
chroot "$R" invenio-drain off --timeout 30 >"$R/tmp/off.log" 2>&1 || { cat "$R/tmp/off.log"; fail "invenio-drain off"; }
` + nginx("nginx /ping after off", "/ping") + `
echo "drain status after off: $(chroot "$R" invenio-drain status)"
`
}

// checkDrained checks the failed upgrade's drain: the host drained before
// the migration ran, stayed drained when it failed and said so, restarted
// nothing, kept serving the API, and came back only through invenio-drain
// off once the UI and the API answered.
func checkDrained(t *testing.T, root, out string) {
	t.Helper()
	log := readLog(t, root, "broken.log")
	assert.Contains(t, out, "nginx /ping before: 200 OK\n")
	assert.Contains(t, out, "drain status before: in service\n")
	// The wait is what is left of the drain time (2 s here) since the flag
	// was set, so a busy machine may have used up part or all of it.
	if strings.Contains(log, "invenio-drain: /ping answers 503; waiting") {
		assert.Regexp(t, `invenio-drain: /ping answers 503; waiting [12]s for the load balancer to take this host out\n`, log)
	}
	assert.Regexp(t, `invenio-drain: drained by upgrade since [0-9T:Z-]+: the load balancer sends this host nothing new\n`+
		`(.*\n)*invenio-web: the instance's set-up or upgrade failed \(`+regexp.QuoteMeta(roles.SetupUnit)+`\):\n`, log,
		"drained before the set-up ran")
	assert.Contains(t, log, "invenio-web: this host stays drained (/ping answers 503) and its units were not restarted; fix the cause, then run dpkg --configure -a\n")
	assert.Regexp(t, `postinst failed after [2-9]s\n`, out, "the postinst waited the drain time")
	assert.Regexp(t, `drain status after: drained by upgrade since [0-9T:Z-]+ \([0-9]+s; the load balancer needs 2s\) exit 3\n`, out)
	assert.Contains(t, out, "nginx /ping drained: 503 draining\n", "the load balancer's health check fails")
	assert.Contains(t, out, "nginx /api/ping drained: 200 OK\n", "the API keeps serving")
	assert.Regexp(t, `nginx record drained: 200 \{.*"title": ?"wired"`, out, "the old code keeps serving records")
	assert.Contains(t, out, "invocations: systemctl --quiet is-active nginx.service;deb-systemd-invoke reload nginx.service;"+
		"systemctl --system daemon-reload;systemctl start "+roles.SetupUnit+";\n",
		"NGINX reloaded before the drain, the set-up after it, and nothing restarted: the set-up failed first")
	assert.Contains(t, readLog(t, root, "off.log"), "invenio-drain: in service: UI and API answer and /ping answers 200")
	assert.Contains(t, out, "nginx /ping after off: 200 OK\n")
	assert.Contains(t, out, "drain status after off: in service\n")
}
