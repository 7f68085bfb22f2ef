package site

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInstanceStorage checks that an instance's own source and Ceph client
// replace the site's, and where the secret file goes.
func TestInstanceStorage(t *testing.T) {
	s := Default()
	for _, in := range s.Instances {
		st := s.StorageFor(in)
		assert.Equal(t, "ceph-mon1.tugraz.at,ceph-mon2.tugraz.at:/invenio/"+in.Name, st.Source)
		assert.Equal(t, "invenio-"+in.Name, st.Client)
		assert.Equal(t, "/etc/ceph/ceph.client.invenio-"+in.Name+".secret", st.CephSecretFile())
		assert.Equal(t, "/storage", st.Mountpoint, "the site's mountpoint stays")
	}
	assert.Equal(t, "invenio", s.Storage.Client, "the site's own is untouched")
	link, target := s.LegacyLink()
	assert.Equal(t, "/opt/invenio/var/instance/data", link)
	assert.Equal(t, "/storage", target, "what TU Graz's bind mount showed there")
	assert.Empty(t, Storage{Type: StorageNFS, Client: "x"}.CephSecretFile(), "no Ceph, no secret")
}

// TestStorageExtrasRefused checks the errors of the storage's new keys.
func TestStorageExtrasRefused(t *testing.T) {
	ceph := "storage: {type: cephfs, source: \"mon1:/invenio\", client: invenio, options: [name=other, noatime]}\n"
	for extra, want := range map[string]string{
		ceph: "storage.options has name= while the storage names a client",
		"storage: {type: nfs, source: \"nfs:/x\", client: invenio}\n":                     "storage.client is set but the storage is nfs, not cephfs",
		"storage: {type: cephfs, source: \"mon1:/invenio\", client: \"client.a b\"}\n":    `storage.client "client.a b" is not a Ceph client name`,
		"storage: {type: cephfs, source: \"mon1:/invenio\", legacy_path: /storage/old}\n": "overlaps the shared storage's mountpoint /storage",
		"storage: {type: none, legacy_path: /opt/invenio/var/instance/data}\n":            "storage.legacy_path is set but there is no shared storage",
		"application: {secrets: [INVENIO_DATACITE_PASSWORD]}\n":                           "has the INVENIO_ prefix",
		"application: {secrets: [datacite]}\n":                                            "is not a setting's name",
		"application: {secrets: [A_B, A_B]}\n":                                            "application.secrets names A_B twice",
	} {
		_, err := Parse("s.yaml", minimalWith(extra))
		assert.ErrorContains(t, err, want, extra)
	}
	served := withInstanceStorage("storage: {type: nfs, server: services}\n", `{source: "nfs:/x"}`)
	_, err := Parse("s.yaml", served)
	assert.ErrorContains(t, err, "instances[0].storage is set but the site's storage is not mounted from a source of its own")
	own := withInstanceStorage("storage: {type: cephfs, source: \"mon1:/invenio\", client: invenio}\n", `{client: "bad name"}`)
	_, err = Parse("s.yaml", own)
	assert.ErrorContains(t, err, `instances[0].storage.client "bad name" is not a Ceph client name`)
	s := parseMinimal(t, "application: {secrets: [DATACITE_PASSWORD, SENTRY_DSN]}\n")
	require.Equal(t, []string{"DATACITE_PASSWORD", "SENTRY_DSN"}, s.Application.Secrets)
}

// withInstanceStorage returns the minimal site with extra and the instance's
// own storage.
func withInstanceStorage(extra, storage string) []byte {
	const repo = "    repository: https://apt.example.org/invenio\n"
	return []byte(strings.Replace(string(minimalWith(extra)), repo, repo+"    storage: "+storage+"\n", 1))
}
