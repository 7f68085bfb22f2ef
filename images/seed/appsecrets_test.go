package seed

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// hostile is an application secret that only a quoted, shell-free file
// carries: quotes, a backslash, shell syntax, a carriage return and bytes
// that are not UTF-8.
const hostile = "a'b\"c\\d $(id) `x` \r\xff\xfe end'"

func TestParseAppSecrets(t *testing.T) {
	a, err := ParseAppSecrets([]byte("# c\n\nDATACITE_PASSWORD='" + hostile + "'\nEMPTY=''\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"DATACITE_PASSWORD", "EMPTY"}, a.Keys())
	assert.Equal(t, []string{hostile, ""}, a.Values())
	again, err := ParseAppSecrets(a.File())
	require.NoError(t, err)
	assert.Equal(t, a.Values(), again.Values(), "File reads back as it was")
	assert.Equal(t, []string{"SENTRY_DSN"}, a.Missing([]string{"DATACITE_PASSWORD", "SENTRY_DSN"}))

	_, err = ParseAppSecrets([]byte("A=" + hostile + "\nB='x\x00'\nC='1'\nC='2'\nlower='x'\n"))
	require.Error(t, err)
	for _, want := range []string{"line 1 is not KEY='VALUE'", "line 2: the value of B holds a NUL byte", "line 4: C is set twice", "line 5 is not"} {
		assert.ErrorContains(t, err, want)
	}
	assert.NotContains(t, err.Error(), "$(id)", "errors never show values")
	_, err = NewAppSecrets(map[string]string{"A": "x\ny"})
	assert.ErrorContains(t, err, "the value of A holds a newline")
}

func TestAppSecretsNeverPrint(t *testing.T) {
	a, err := NewAppSecrets(map[string]string{"DATACITE_PASSWORD": "Sup3rS3cret-value"})
	require.NoError(t, err)
	k := CephSecret("AQBrZ2VjZXBoa2V5LWZvci10ZXN0cw==")
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, a), fmt.Sprint(k), fmt.Sprintf("%#v", k)} {
		assert.NotContains(t, s, "Sup3rS3cret")
		assert.NotContains(t, s, "AQBr")
	}
}

func TestCheckCephSecret(t *testing.T) {
	k, err := CheckCephSecret([]byte("AQBrZ2VjZXBoa2V5LWZvci10ZXN0cw==\n"))
	require.NoError(t, err)
	assert.Equal(t, "AQBrZ2VjZXBoa2V5LWZvci10ZXN0cw==", string(k))
	for _, bad := range []string{"", "two words", "[client.x]\n\tkey = AQB=\n", "not base64!"} {
		_, err := CheckCephSecret([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// TestAppSecretsOnWebHostsOnly checks that a web host's seed writes the
// application secrets (base64 in user-data, since YAML holds no arbitrary
// bytes) and the instance's Ceph secret file, and the services host's
// neither.
func TestAppSecretsOnWebHostsOnly(t *testing.T) {
	s := site.Default()
	in, _ := s.Instance("prod")
	a, err := NewAppSecrets(map[string]string{"DATACITE_PASSWORD": hostile})
	require.NoError(t, err)
	key := CephSecret("AQBrZ2VjZXBoa2V5LWZvci10ZXN0cw==")
	o := Options{AppSecrets: a, CephSecret: key}
	web, err := ForHost(s, in, "invenio01-prod", Secrets{}, o)
	require.NoError(t, err)
	files := userDataFiles(t, web)
	app := files[site.AppSecretsPath]
	require.NotNil(t, app)
	assert.Equal(t, "root:invenio", app["owner"])
	assert.Equal(t, "0640", app["permissions"])
	assert.Equal(t, "b64", app["encoding"])
	raw, err := base64.StdEncoding.DecodeString(app["content"].(string))
	require.NoError(t, err)
	back, err := ParseAppSecrets(raw)
	require.NoError(t, err)
	assert.Equal(t, []string{hostile}, back.Values())
	ceph := files["/etc/ceph/ceph.client.invenio-prod.secret"]
	require.NotNil(t, ceph, "the instance's own client")
	assert.Equal(t, map[string]any{"path": "/etc/ceph/ceph.client.invenio-prod.secret", "owner": "root:root",
		"permissions": "0600", "content": string(key) + "\n"}, ceph)

	svc, err := ForHost(s, in, "invenio03-prod", Secrets{}, o)
	require.NoError(t, err)
	assert.Empty(t, userDataFiles(t, svc), "the services host gets neither")
}

// userDataFiles returns the write_files entries of c's user-data by path.
func userDataFiles(t *testing.T, c Config) map[string]map[string]any {
	t.Helper()
	b, err := c.UserData()
	require.NoError(t, err)
	var u struct {
		WriteFiles []map[string]any `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal(b, &u))
	out := map[string]map[string]any{}
	for _, f := range u.WriteFiles {
		out[f["path"].(string)] = f
	}
	return out
}
