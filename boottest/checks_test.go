package boottest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// TestFailedUnits: a failed unit is a problem unless it cannot work with
// the search engine's stand-in; those are named in the output instead.
// (CI's boot test failed when the daily snapshot timer fired during it.)
func TestFailedUnits(t *testing.T) {
	standIn := []string{"opensearch.service", roles.SearchSnapshotService}
	var out strings.Builder
	got := failedUnits([]string{"opensearch.service", "invenio-search-snapshot.service", "nginx.service"}, standIn, &out)
	assert.Equal(t, []string{"nginx.service failed"}, got)
	assert.Contains(t, out.String(), "invenio-search-snapshot.service failed: it needs the search engine")
	assert.Contains(t, out.String(), "opensearch.service failed: it needs the search engine")

	// Without a stand-in every failed unit counts, the snapshot's too.
	out.Reset()
	got = failedUnits([]string{"invenio-search-snapshot.service"}, nil, &out)
	assert.Equal(t, []string{"invenio-search-snapshot.service failed"}, got)
	assert.Empty(t, out.String())
}

// TestExpectedUnitsWithSearchStandIn: on a services host whose image
// carries the engine's stand-in, the engine's unit is not required active,
// and both it and the snapshot service may fail.
func TestExpectedUnitsWithSearchStandIn(t *testing.T) {
	s := site.Default()
	in, err := s.FindInstance("prod")
	if err != nil {
		t.Fatal(err)
	}
	var svc site.Host
	for _, h := range in.Hosts {
		if h.Has(site.RoleServices) {
			svc = h
		}
	}
	tt := &Test{site: s, in: in}
	engine := roles.SearchUnit(s)

	want, standIn := tt.expectedUnits(&guest{Host: svc})
	assert.Contains(t, want, engine)
	assert.Contains(t, want, roles.SearchSnapshotTimer)
	assert.Empty(t, standIn)

	g := &guest{Host: svc}
	g.Manifest.StandIns = []string{string(s.Search.Engine)}
	want, standIn = tt.expectedUnits(g)
	assert.NotContains(t, want, engine)
	assert.Contains(t, want, roles.SearchSnapshotTimer, "the timer itself stays required")
	assert.Equal(t, []string{engine, roles.SearchSnapshotService}, standIn)
}

func TestHostKeyFiles(t *testing.T) {
	assert.Equal(t, "ssh_host_ecdsa_key ssh_host_ed25519_key", hostKeyFiles(), "the glob's order, and no RSA key")
}

// TestResultFigures checks the summary's last figure: the whole test's
// time beside its target, one target for a one-host instance and another
// for a whole one.
func TestResultFigures(t *testing.T) {
	for _, tc := range []struct {
		hosts int
		want  string
	}{{1, "(target 2m30s)"}, {3, "(target 6m0s)"}} {
		tt := &Test{runner: &junit.Runner{}, accel: vm.Choice{Accel: vm.TCG}, figures: []string{"a figure"}}
		for range tc.hosts {
			tt.guests = append(tt.guests, &guest{})
		}
		res := tt.result(time.Now())
		require.Len(t, res.Figures, 2)
		assert.Equal(t, "a figure", res.Figures[0])
		assert.Contains(t, res.Figures[1], fmt.Sprintf("whole instance test (%d hosts, tcg): ", tc.hosts))
		assert.True(t, strings.HasSuffix(res.Figures[1], "0 passed, 0 failed, 0 skipped "+tc.want), res.Figures[1])
	}
	// With the rolling upgrade, the time without it is held against the
	// target too.
	tt := &Test{runner: &junit.Runner{}, accel: vm.Choice{Accel: vm.TCG}, guests: []*guest{{}, {}, {}}, upgradeTook: 200 * time.Second}
	res := tt.result(time.Now().Add(-500 * time.Second))
	assert.Regexp(t, `^whole instance test \(3 hosts, tcg\): 500\.\ds, 0 passed, 0 failed, 0 skipped; 300\.\ds without the rolling upgrade's 200\.0s \(target 6m0s\)$`, res.Figures[0])
}
