package site

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSizeNotations(t *testing.T) {
	tests := []struct {
		n     sizeNotation
		in    string
		bytes int64
		err   string // "" when valid
		hint  string // only checked when set
	}{
		{postgresSize, "512MB", 512 << 20, "", ""},
		{postgresSize, "2GB", 2 << 30, "", ""},
		{postgresSize, "64kB", 64 << 10, "", ""},
		{postgresSize, "1TB", 1 << 40, "", ""},
		{postgresSize, "2gb", 0, `has an unknown unit "gb"`, "units are case-sensitive here: write 2GB"},
		{postgresSize, "64KB", 0, `has an unknown unit "KB"`, "units are case-sensitive here: write 64kB"},
		{postgresSize, "512", 0, "has no unit", ""},
		{postgresSize, "1.5GB", 0, "is not a whole number and a unit", ""},
		{postgresSize, "-1GB", 0, "is not a whole number and a unit", ""},
		{postgresSize, "GB", 0, "is not a whole number and a unit", ""},
		{postgresSize, "", 0, "is empty", ""},
		{postgresSize, "0MB", 0, "is zero", ""},
		{postgresSize, "2 GB", 0, "has a space before its unit", "write 2GB"},
		{postgresSize, "99999999999999999999GB", 0, "is too large", ""},
		{postgresSize, "9000000000TB", 0, "is too large", ""},
		{heapSize, "4g", 4 << 30, "", ""},
		{heapSize, "512m", 512 << 20, "", ""},
		{heapSize, "4G", 4 << 30, "", ""},
		{heapSize, "4GB", 0, `has an unknown unit "GB"`, "write 4G"},
		{heapSize, "4gb", 0, `has an unknown unit "gb"`, "write 4g"},
		{heapSize, "4t", 0, `has an unknown unit "t"`, "write a whole number and one of the units k, m, g, without a space, e.g. 4g"},
		{redisSize, "256mb", 256 << 20, "", ""},
		{redisSize, "1gb", 1 << 30, "", ""},
		{redisSize, "1GB", 1 << 30, "", ""},
		{redisSize, "1g", 1e9, "", ""},
		{redisSize, "100k", 100e3, "", ""},
		{redisSize, "1tb", 0, `has an unknown unit "tb"`, ""},
		{redisSize, "1 gb", 0, "has a space before its unit", "write 1gb"},
		{nginxSize, "50G", 50 << 30, "", ""},
		{nginxSize, "100m", 100 << 20, "", ""},
		{nginxSize, "50GB", 0, `has an unknown unit "GB"`, "write 50G"},
		{nginxSize, "0G", 0, "is zero", ""},
	}
	for _, tt := range tests {
		t.Run(tt.n.what+"/"+tt.in, func(t *testing.T) {
			got, err := tt.n.parse(tt.in)
			if tt.err == "" {
				assert.NoError(t, err)
				assert.Equal(t, tt.bytes, got)
				return
			}
			assert.EqualError(t, err, tt.err)
			if tt.hint != "" {
				assert.Equal(t, tt.hint, tt.n.hint(tt.in))
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		rule urlRule
		in   string
		err  string // "" when valid
	}{
		{instanceURL, "https://invenio.example.org", ""},
		{instanceURL, "https://invenio.example.org/", ""},
		{instanceURL, "http://invenio.example.org:8080", ""},
		{instanceURL, "https://[2001:db8::1]", ""},
		{instanceURL, "https://invenio.example.org/records", `has the path "/records"; InvenioRDM must be served at the root`},
		{instanceURL, "ftp://invenio.example.org", `has the scheme "ftp"; use https or http`},
		{instanceURL, "file:///srv", `has the scheme "file"; use https or http`},
		{instanceURL, "invenio.example.org", "is not a URL with a scheme (https, http)"},
		{instanceURL, "https://", "has no host"},
		{instanceURL, "https:invenio.example.org", "has no host"},
		{instanceURL, "https://user:pw@invenio.example.org", "has user information; put credentials elsewhere"},
		{instanceURL, "https://invenio.example.org/?a=b", "has a query or fragment"},
		{instanceURL, "https://invenio.example.org/#top", "has a query or fragment"},
		{instanceURL, "https://invenio.example.org:99999", `has an invalid port "99999"`},
		{instanceURL, "https://invenio example.org", "contains white space"},
		{instanceURL, "", "is empty"},
		{repositoryURL, "http://mirror.example.org/debian", ""},
		{repositoryURL, "https://apt.example.org/invenio/", ""},
		{repositoryURL, "file:///srv/apt", ""},
		{repositoryURL, "file:/srv/apt", ""},
		{repositoryURL, "file://localhost/srv/apt", ""},
		{repositoryURL, "file://server/srv/apt", `names the host "server"; a file URL is local: file:///path`},
		{repositoryURL, "file:srv/apt", "has no absolute path; write file:///path"},
		{repositoryURL, "ftp://mirror.example.org/debian", `has the scheme "ftp"; use http or https or file`},
		{repositoryURL, "mirror.example.org/debian", "is not a URL with a scheme (http, https, file)"},
		{repositoryURL, "http://%zz", "is not a URL with a scheme (http, https, file)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := checkURL(tt.in, tt.rule)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.err)
			}
		})
	}
}

func TestCheckSmarthost(t *testing.T) {
	tests := []struct{ in, err string }{
		{"smtp.example.org", ""},
		{"smtp.example.org::587", ""},
		{"192.0.2.25::25", ""},
		{"192.0.2.25", ""},
		{"[2001:db8::25]::587", ""},
		{"[2001:db8::25]", ""},
		{"smtp", ""},
		{"smtp.example.org:587", "has a single colon; Exim separates the port with two"},
		{"smtp.example.org::0", `has an invalid port "0"`},
		{"smtp.example.org::smtp", `has an invalid port "smtp"`},
		{"::587", `names "", which is not a host name or address`},
		{"smtp_relay.example.org", `names "smtp_relay.example.org", which is not a host name or address`},
		{"[192.0.2.25]::25", `has "192.0.2.25" in brackets, which is not an IPv6 address`},
		{"[2001:db8::25", `has an unclosed "["`},
		{"[2001:db8::25]:587", `has something other than "::port" after "]"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := checkSmarthost(tt.in)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.err)
			}
		})
	}
}

func TestCheckAddress(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"192.0.2.10", "192.0.2.10", ""},
		{"2001:db8::10", "2001:db8::10", ""},
		{"::ffff:192.0.2.10", "192.0.2.10", ""},
		{"127.0.0.1", "", "is a loopback address; write the host's address on the internal network"},
		{"::1", "", "is a loopback address; write the host's address on the internal network"},
		{"255.255.255.255", "", "is the broadcast address"},
		{"192.0.2.300", "", "is not an IPv4 or IPv6 address"},
		{"192.0.2.10/24", "", "is a prefix; write the address without /length"},
		{"fe80::1%eth0", "", "has a zone; write the address without %zone"},
		{"::", "", "is the unspecified address"},
		{"224.0.0.1", "", "is a multicast address"},
		{"invenio01", "", "is not an IPv4 or IPv6 address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := checkAddress(tt.in)
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, a.String())
		})
	}
}

func TestPatterns(t *testing.T) {
	assert.NoError(t, checkHostLabel("invenio01-prod"))
	assert.NoError(t, checkHostLabel("a"))
	assert.Error(t, checkHostLabel("invenio01-"))
	assert.Error(t, checkHostLabel("invenio_01"))
	assert.Error(t, checkHostLabel(string(make([]byte, 64))))
	assert.EqualError(t, checkHostLabel("a234567890123456789012345678901234567890123456789012345678901234"), "is longer than 63 characters")

	for _, ok := range []string{"invenio_app.wsgi_ui:application", "app:application", "a.b.c:d"} {
		assert.True(t, wsgiModule.MatchString(ok), ok)
	}
	for _, bad := range []string{"invenio_app.wsgi_ui", "a/b.py:app", "a.:b", "1a:b", "a:b:c"} {
		assert.False(t, wsgiModule.MatchString(bad), bad)
	}
	for _, ok := range []string{"Repository Team <repository@example.org>", "Jane Doe <jane.doe@mail.example.org>"} {
		assert.True(t, maintainerPattern.MatchString(ok), ok)
	}
	for _, bad := range []string{"jane@example.org", "<jane@example.org>", "Jane <jane>", "Jane <jane@example>", "Jane  <jane@example.org> x"} {
		assert.False(t, maintainerPattern.MatchString(bad), bad)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "maintainer", "instances", "cluster_name", "upload_limit"}
	assert.Equal(t, `did you mean "instances"?`, suggest("instnaces", keys))
	assert.Equal(t, `did you mean "instances"?`, suggest("Instances", keys))
	assert.Equal(t, `did you mean "cluster_name"?`, suggest("cluster-name", keys))
	assert.Equal(t, `did you mean "upload_limit"?`, suggest("uploadlimit", keys))
	assert.Equal(t, `did you mean "name"?`, suggest("nme", keys))
	assert.Equal(t, "allowed: name, maintainer, instances, cluster_name, upload_limit", suggest("tls_everywhere", keys))
	assert.Equal(t, 0, editDistance("", ""))
	assert.Equal(t, 3, editDistance("abc", ""))
	assert.Equal(t, 1, editDistance("ab", "ba"))
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
}
