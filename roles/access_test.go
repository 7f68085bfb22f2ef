package roles_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// prodFiles renders the prod instance of s and returns its files by path.
func prodFiles(t *testing.T, s *site.Site) map[string]string {
	t.Helper()
	prod, ok := s.Instance("prod")
	require.True(t, ok)
	files := map[string]string{}
	for _, sp := range roles.Plan(s, prod) {
		for _, f := range sp.Files {
			files[f.Path] = string(f.Body)
		}
	}
	return files
}

// TestClientAddressFollowsTheLoadBalancer checks NGINX's real-IP settings and
// the application's proxy count for a load balancer that adds
// X-Forwarded-For and for one that does not.
func TestClientAddressFollowsTheLoadBalancer(t *testing.T) {
	s := site.Default()
	s.LoadBalancer = site.LoadBalancer{Addresses: []string{"192.0.2.0/28", "198.51.100.7"}, ForwardsFor: true}
	f := prodFiles(t, s)
	nginx, snippet, env := f["/etc/nginx/sites-available/invenio"], f["/etc/nginx/snippets/invenio-uwsgi.conf"], f["/etc/invenio/invenio.env"]
	assert.Contains(t, nginx, "    set_real_ip_from \"192.0.2.0/28\";\n    set_real_ip_from \"198.51.100.7/32\";\n    real_ip_header X-Forwarded-For;\n    real_ip_recursive off;\n")
	assert.Contains(t, snippet, "uwsgi_param HTTP_X_FORWARDED_FOR $proxy_add_x_forwarded_for;")
	assert.Contains(t, env, "INVENIO_WSGI_PROXIES=2\n")
	assert.Contains(t, env, "'x_for': 2,")

	s.LoadBalancer.ForwardsFor = false
	f = prodFiles(t, s)
	nginx, snippet, env = f["/etc/nginx/sites-available/invenio"], f["/etc/nginx/snippets/invenio-uwsgi.conf"], f["/etc/invenio/invenio.env"]
	assert.NotContains(t, nginx, "real_ip_header", "no header to take the client from")
	assert.Contains(t, snippet, "uwsgi_param HTTP_X_FORWARDED_FOR $remote_addr;", "a client's header is replaced")
	assert.NotContains(t, snippet, "$proxy_add_x_forwarded_for")
	assert.Contains(t, env, "INVENIO_WSGI_PROXIES=1\n")
	assert.Contains(t, env, "'x_for': 1,")
}

// TestAccessLogNamesRequestSessionAndUser checks the access log's format.
func TestAccessLogNamesRequestSessionAndUser(t *testing.T) {
	nginx := prodFiles(t, site.Default())["/etc/nginx/sites-available/invenio"]
	for _, v := range []string{"$request_id", "$upstream_http_x_session_id", "$upstream_http_x_user_id", "$remote_addr"} {
		assert.Contains(t, nginx, v)
	}
	assert.Contains(t, nginx, "access_log /var/log/nginx/access.log invenio;")
}
