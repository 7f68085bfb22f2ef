package roles_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

// Addresses of the client address test, in a network namespace of its own:
// the load balancer, the client it adds to X-Forwarded-For, and the
// address a client forges.
const (
	lbAddr     = "192.0.2.2"
	clientAddr = "198.51.100.7"
	forgedAddr = "203.0.113.9"
)

// uwsgiServer is a uwsgi-protocol server for the fixture's REST API
// application, as uWSGI mounts it (/api, manage-script-name): it reads one
// request per connection, runs the application and writes its answer. The
// application comes from the fixture's own factory with the rendered
// PROXYFIX_CONFIG, and its /fixture/info answers request.remote_addr as the
// fixture's does (the fixture's blueprint needs its dist-info, which this
// source tree lacks), so the address is the one the application's ProxyFix
// makes.
const uwsgiServer = `import socket, struct, sys
from flask import jsonify, request
from invenio_app import factory
app = factory.create_app("api", {"INVENIO_PROXYFIX_CONFIG": sys.argv[1]})
app.add_url_rule("/fixture/info", "info", lambda: jsonify(remote_addr=request.remote_addr))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[2])))
srv.listen(8)
open(sys.argv[3], "w").close()
while True:
    c, _ = srv.accept()
    f = c.makefile("rb")
    _, size, _ = struct.unpack("<BHB", f.read(4))
    data, env, i = f.read(size), {}, 0
    while i < size:
        kl = struct.unpack("<H", data[i:i + 2])[0]
        k = data[i + 2:i + 2 + kl].decode("latin-1")
        i += 2 + kl
        vl = struct.unpack("<H", data[i:i + 2])[0]
        env[k] = data[i + 2:i + 2 + vl].decode("latin-1")
        i += 2 + vl
    if env.get("PATH_INFO", "").startswith("/api"):
        env["SCRIPT_NAME"], env["PATH_INFO"] = "/api", env["PATH_INFO"][4:]
    env.update({"wsgi.input": f, "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
                "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
                "wsgi.run_once": False})
    answer = []
    body = b"".join(app(env, lambda status, headers, exc=None: answer.append((status, headers))))
    head = "HTTP/1.1 %s\r\n" % answer[0][0] + "".join("%s: %s\r\n" % h for h in answer[0][1])
    c.sendall(head.encode("latin-1") + b"\r\n" + body)
    c.close()
`

// TestClientAddressWithTheRealNGINX runs the host's NGINX with the site's
// rendered configuration in front of the fixture's REST API application
// (its own ProxyFix from the rendered invenio.env), in a private network
// namespace, and asks which client the application and NGINX's access log
// see for a request from the load balancer with a forged X-Forwarded-For:
// the client the load balancer added where it adds one (forwards_for:
// true), the load balancer itself where it does not (forwards_for: false);
// the forged address never.
func TestClientAddressWithTheRealNGINX(t *testing.T) {
	need.Root(t)
	need.Tool(t, "nginx", "unshare", "ip", "curl", debianPython)
	app := t.TempDir()
	require.NoError(t, os.CopyFS(app, fixtureapp.Files(fixtureapp.Release1)))
	for _, c := range []struct {
		forwards bool
		xff      string
		want     string
	}{
		{true, forgedAddr + ", " + clientAddr, clientAddr},
		{false, forgedAddr, lbAddr},
	} {
		dir := nginxPrefix(t, c.forwards)
		out := runClientAddress(t, dir, app, c.xff)
		assert.Contains(t, out, "app="+c.want+"\n", "forwards_for %v: the application's client\n%s", c.forwards, out)
		assert.Contains(t, out, "log="+c.want+"\n", "forwards_for %v: NGINX's access log\n%s", c.forwards, out)
		assert.NotContains(t, out, "app="+forgedAddr, "forwards_for %v: a forged address is never believed", c.forwards)
	}
}

// nginxPrefix writes the dev instance's NGINX site and snippet for a load
// balancer at lbAddr that adds X-Forwarded-For or not, with a throwaway
// certificate, logs and temporary files in a directory of their own, and
// the rendered PROXYFIX_CONFIG in proxyfix.
func nginxPrefix(t *testing.T, forwards bool) string {
	t.Helper()
	s := site.Default()
	s.LoadBalancer = site.LoadBalancer{Addresses: []string{lbAddr}, ForwardsFor: forwards}
	dev, _ := s.Instance("dev")
	dir := t.TempDir()
	writeSelfSigned(t, dir, "cert.pem", "key.pem")
	files := map[string]string{}
	for _, sp := range roles.Plan(s, dev) {
		for _, f := range sp.Files {
			files[f.Path] = string(f.Body)
		}
	}
	snippet := filepath.Join(dir, "invenio-uwsgi.conf")
	require.NoError(t, os.WriteFile(snippet, []byte(strings.ReplaceAll(files["/etc/nginx/snippets/invenio-uwsgi.conf"],
		"include uwsgi_params;", "include /etc/nginx/uwsgi_params;")), 0o644))
	conf := strings.NewReplacer(
		`ssl_certificate "`+s.TLS.Certificate+`";`, "ssl_certificate "+filepath.Join(dir, "cert.pem")+";",
		`ssl_certificate_key "`+s.TLS.Key+`";`, "ssl_certificate_key "+filepath.Join(dir, "key.pem")+";",
		"include /etc/nginx/snippets/invenio-uwsgi.conf;", "include "+snippet+";",
		"/var/log/nginx/access.log", filepath.Join(dir, "access.log"),
	).Replace(files["/etc/nginx/sites-available/invenio"])
	require.NoError(t, os.WriteFile(filepath.Join(dir, "site.conf"), []byte(conf), 0o644))
	top := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n" +
		" client_body_temp_path " + dir + "/body;\n uwsgi_temp_path " + dir + "/uwsgi;\n" +
		" include " + dir + "/site.conf;\n}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(top), 0o644))
	m := regexp.MustCompile(`(?m)^INVENIO_PROXYFIX_CONFIG="(.*)"$`).FindStringSubmatch(files["/etc/invenio/invenio.env"])
	require.NotNil(t, m, "invenio.env sets PROXYFIX_CONFIG")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proxyfix"), []byte(m[1]), 0o644))
	return dir
}

// runClientAddress starts the application and NGINX in a private network
// namespace, sends one request from the load balancer's address with the
// X-Forwarded-For xff, and prints the client the application saw (app=)
// and the first field of NGINX's access log line (log=).
func runClientAddress(t *testing.T, dir, app, xff string) string {
	t.Helper()
	script := `set -e
dir=$1 app=$2 xff=$3
ip link set lo up
ip addr add ` + lbAddr + `/32 dev lo
PYTHONPATH=$app ` + debianPython + ` -c "$4" "$(cat "$dir/proxyfix")" 5001 "$dir/ready" 2>"$dir/app.log" &
app_pid=$!
for i in $(seq 50); do [ -e "$dir/ready" ] && break; sleep 0.2; done
nginx -p "$dir" -c "$dir/nginx.conf"
trap 'kill $app_pid; kill $(cat "$dir/nginx.pid")' EXIT
body=$(curl -sk --interface ` + lbAddr + ` -H 'Host: invenio-dev01.tugraz.at' -H "X-Forwarded-For: $xff" https://` + lbAddr + `:8080/api/fixture/info)
echo "body=$body"
echo "app=$(echo "$body" | ` + debianPython + ` -c 'import json, sys; print(json.load(sys.stdin)["remote_addr"])')"
# NGINX logs the request after it answered: wait for the line.
for i in $(seq 50); do [ -s "$dir/access.log" ] && break; sleep 0.1; done
echo "log=$(cut -d' ' -f1 "$dir/access.log")"
`
	out, err := exec.Command("unshare", "--net", "sh", "-c", script, "sh", dir, app, xff, uwsgiServer).CombinedOutput()
	if err != nil {
		logs, _ := os.ReadFile(filepath.Join(dir, "app.log"))
		nginxLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("%v: %s\napplication: %s\nnginx: %s", err, out, logs, nginxLog)
	}
	return string(out)
}
