package site

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bootTestSite is the site the boot tests run.
const bootTestSite = "examples/boot-test.yaml"

// TestBootTestSiteIsTheDefaultWithNFS keeps the boot tests' site equal to
// the default site in everything but its storage, which each instance's
// services host serves over NFS (no instance has its own), and its load
// balancer's addresses and health check.
func TestBootTestSiteIsTheDefaultWithNFS(t *testing.T) {
	bt, err := Load(bootTestSite)
	require.NoError(t, err)
	assert.Equal(t, Storage{
		Type: StorageNFS, Server: RoleServices, Export: DefaultExport, Mountpoint: DefaultMountpoint,
		LegacyPath: "/opt/invenio/var/instance/data",
	}, bt.Storage)
	assert.True(t, bt.Storage.Served())
	for _, in := range bt.Instances {
		single := len(in.Hosts) == 1
		assert.Equal(t, single, bt.LocalStorage(in), in.Name)
		assert.Equal(t, !single, bt.ExportsStorage(in), in.Name)
	}

	def := Default()
	bt.Storage, def.Storage = Storage{}, Storage{}
	for i := range def.Instances {
		def.Instances[i].Storage = nil // each instance's own CephFS path and client
	}
	// The test network's load balancer (boottest checks the addresses).
	assert.NotEmpty(t, bt.LoadBalancer.Addresses)
	bt.LoadBalancer.Addresses = nil
	// The test network's HAProxy checks faster than the F5 (topology's
	// defaults), and its web hosts drain accordingly.
	assert.Equal(t, 3*time.Second, bt.LoadBalancer.DrainTime())
	bt.LoadBalancer.CheckInterval, bt.LoadBalancer.CheckFall, bt.LoadBalancer.Drain =
		def.LoadBalancer.CheckInterval, def.LoadBalancer.CheckFall, def.LoadBalancer.Drain
	bt.src, def.src = nil, nil
	assert.Equal(t, def, bt, "%s differs from defaults/site.yaml beyond storage; make the same change there", bootTestSite)
}

// TestBootTestNextSiteChangesTheUploadLimit keeps release N+1 of the boot
// tests' site equal to boot-test.yaml but for the one configuration change
// the rolling-upgrade test rolls out.
func TestBootTestNextSiteChangesTheUploadLimit(t *testing.T) {
	bt, err := Load(bootTestSite)
	require.NoError(t, err)
	next, err := Load("examples/boot-test-next.yaml")
	require.NoError(t, err)
	assert.Equal(t, "50G", bt.Sizing.UploadLimit)
	assert.Equal(t, "60G", next.Sizing.UploadLimit)
	next.Sizing.UploadLimit = bt.Sizing.UploadLimit
	bt.src, next.src = nil, nil
	assert.Equal(t, bt, next, "examples/boot-test-next.yaml differs from %s beyond the upload limit; make the same change there", bootTestSite)
}

// TestServedStorageDefaults checks what a site that only says its services
// hosts serve the storage gets, and that the export is not defaulted for
// storage from a source.
func TestServedStorageDefaults(t *testing.T) {
	s := parseMinimal(t, "storage: {type: nfs, server: services}\n")
	assert.Equal(t, DefaultExport, s.Storage.Export)
	assert.Equal(t, DefaultMountpoint, s.Storage.Mountpoint)
	assert.True(t, s.Storage.Served())

	s = parseMinimal(t, "storage: {type: nfs, source: \"nfs.example.org:/export\"}\n")
	assert.Empty(t, s.Storage.Export)
	assert.False(t, s.Storage.Served())
}

// TestServedStorageExportChecks covers export paths the bad corpus does not.
func TestServedStorageExportChecks(t *testing.T) {
	for export, want := range map[string]string{
		"/":                    `storage.export "/" is the system directory /`,
		"/srv/my storage":      `storage.export "/srv/my storage" contains white space`,
		"/srv/invenio/../data": `storage.export "/srv/invenio/../data" is not a clean path (/srv/data)`,
		`""`:                   `storage.export is empty`,
	} {
		_, err := Parse("s.yaml", minimalWith("storage: {type: nfs, server: services, export: "+export+"}\n"))
		require.Error(t, err, export)
		assert.Contains(t, err.Error(), want)
	}
}

// parseMinimal parses the minimal good site with extra top-level YAML.
func parseMinimal(t *testing.T, extra string) *Site {
	t.Helper()
	s, err := Parse("s.yaml", minimalWith(extra))
	require.NoError(t, err)
	return s
}

// minimalWith returns a one-host site with extra top-level YAML appended.
func minimalWith(extra string) []byte {
	return []byte(`name: example
maintainer: Test Team <test@example.org>
mail: {smarthost: smtp.example.org}
tls: {certificate: /etc/ssl/certs/invenio.pem, key: /etc/ssl/private/invenio.key}
instances:
  - name: dev
    url: https://invenio-dev.example.org
    repository: https://apt.example.org/invenio
    hosts:
      - {name: invenio-dev01, address: 192.0.2.10, roles: [web, services], beat: true}
` + extra)
}
