package site

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRole(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	_, err := ParseRole("db")
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.EqualError(t, err, `want web or services`)
	assert.False(t, Role("").Valid())
}

func TestRoleSets(t *testing.T) {
	in := Instance{Hosts: []Host{
		{Name: "a", Roles: []Role{RoleServices, RoleWeb}},
		{Name: "b", Roles: []Role{RoleWeb}},
		{Name: "c", Roles: []Role{RoleWeb, RoleServices}},
		{Name: "d", Roles: []Role{RoleServices}},
	}}
	assert.Equal(t, [][]Role{{RoleWeb, RoleServices}, {RoleWeb}, {RoleServices}}, in.RoleSets())
	assert.Equal(t, "web-services", JoinRoles(in.Hosts[0].RoleSet(), "-"))
}

func TestNotFound(t *testing.T) {
	s := Default()
	_, err := s.FindInstance("staging")
	var nf *NotFoundError
	require.True(t, errors.As(err, &nf))
	assert.Equal(t, "instance", nf.Kind)
	assert.EqualError(t, err, `no instance "staging" in site "tugraz" (instances: dev, test, prod)`)
	_, err = s.SelectInstances([]string{"prod", "qa"})
	assert.EqualError(t, err, `no instance "qa" in site "tugraz" (instances: dev, test, prod)`)
	ins, err := s.SelectInstances(nil)
	require.NoError(t, err)
	assert.Len(t, ins, 3)

	prod, err := s.FindInstance("prod")
	require.NoError(t, err)
	h, err := prod.Host("invenio03-prod")
	require.NoError(t, err)
	assert.True(t, h.Has(RoleServices))
	_, err = prod.Host("invenio-dev01")
	require.ErrorAs(t, err, &nf)
	assert.EqualError(t, err, `no host "invenio-dev01" in instance "prod" (hosts: invenio01-prod, invenio02-prod, invenio03-prod)`)
}
