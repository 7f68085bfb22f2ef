package packaging

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRelationString(t *testing.T) {
	assert.Equal(t, "invenio-common (= ${binary:Version})", SameVersion("invenio-common").String())
	r := Relation{Name: "systemd", Version: ">= 250", Or: Deps("systemd-standalone-sysusers")}
	assert.Equal(t, "systemd (>= 250) | systemd-standalone-sysusers", r.String())
	assert.Equal(t, []string{"systemd", "systemd-standalone-sysusers"}, r.Names())
	assert.Nil(t, RelationStrings(nil))
}

func TestParseRelationRoundTrips(t *testing.T) {
	for _, s := range []string{"python3 (>= 3.11)", "python3-flask | python3-quart", "python3:any", "a (<< 8) | b (<< 8)"} {
		r, err := ParseRelation(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, r.String())
	}
	r, err := ParseRelation(" foo ( >= 1 ) |bar")
	require.NoError(t, err)
	assert.Equal(t, Relation{Name: "foo", Version: ">= 1", Or: Deps("bar")}, r)
}

func TestParseRelationRefusesMalformed(t *testing.T) {
	for _, s := range []string{"", "foo (>= 1", "foo >= 1)", "a | ", "two words"} {
		_, err := ParseRelation(s)
		assert.Error(t, err, s)
	}
}
