package boottest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

func TestParseRoleValues(t *testing.T) {
	cpus, err := ParseCPUs([]string{"web=2", "services=4"})
	require.NoError(t, err)
	assert.Equal(t, map[site.Role]int{site.RoleWeb: 2, site.RoleServices: 4}, cpus)
	budgets, err := ParseBudgets([]string{"web=30s"})
	require.NoError(t, err)
	assert.Equal(t, map[site.Role]time.Duration{site.RoleWeb: 30 * time.Second}, budgets)

	var ie *site.InputError
	for _, bad := range []string{"db=2", "web", "web=0", "web=17"} {
		_, err := ParseCPUs([]string{bad})
		assert.ErrorAs(t, err, &ie, bad)
	}
	_, err = ParseCPUs([]string{"db=2"})
	assert.EqualError(t, err, `--cpus "db=2": want web=N or services=N`)
	_, err = ParseBudgets([]string{"web=-1s"})
	assert.ErrorAs(t, err, &ie)
}
