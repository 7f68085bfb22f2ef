package site

import (
	"fmt"
	"slices"
	"strings"
)

// Role is what a host does.
type Role string

// The roles a host can have. A new role is added here, to Roles, to the
// enum of Host.Roles' schema tag, and to package roles, which knows what
// it ships and runs.
const (
	RoleWeb      Role = "web"
	RoleServices Role = "services"
)

// Roles returns every role, in the order plans and images list them.
func Roles() []Role { return []Role{RoleWeb, RoleServices} }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// roleNames returns the names of every role.
func roleNames() []string {
	var names []string
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return names
}

// ParseRole returns the role named s, or an *InputError that says which
// roles there are (callers name s: "--role \"db\": want web or services").
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", &InputError{Err: fmt.Errorf("want %s", strings.Join(roleNames(), " or "))}
}

// JoinRoles joins roles with sep, e.g. "web-services".
func JoinRoles(rs []Role, sep string) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, string(r))
	}
	return strings.Join(parts, sep)
}

// Has reports whether the host has role r.
func (h Host) Has(r Role) bool { return slices.Contains(h.Roles, r) }

// RoleSet returns the host's roles in the order of Roles, whatever the
// order the site file lists them in.
func (h Host) RoleSet() []Role {
	var rs []Role
	for _, r := range Roles() {
		if h.Has(r) {
			rs = append(rs, r)
		}
	}
	return rs
}

// RoleSets returns the distinct role sets of an instance's hosts (as
// Host.RoleSet gives them), in host order.
func (in Instance) RoleSets() [][]Role {
	var out [][]Role
	for _, h := range in.Hosts {
		rs := h.RoleSet()
		if !slices.ContainsFunc(out, func(x []Role) bool { return slices.Equal(x, rs) }) {
			out = append(out, rs)
		}
	}
	return out
}
