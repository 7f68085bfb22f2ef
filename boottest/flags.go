package boottest

import (
	"strconv"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// ParseCPUs reads ROLE=N values (--cpus) into Options.CPUs: from 1 to 16
// virtual CPUs. Its errors are *site.InputError.
func ParseCPUs(values []string) (map[site.Role]int, error) {
	cpus := map[site.Role]int{}
	for _, c := range values {
		role, v, err := parseRoleValue("--cpus", c, "N")
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 16 {
			return nil, site.BadInput("--cpus %q: want a number of CPUs from 1 to 16", c)
		}
		cpus[role] = n
	}
	return cpus, nil
}

// ParseBudgets reads ROLE=DURATION values (--budget) into
// Options.Budgets. Its errors are *site.InputError.
func ParseBudgets(values []string) (map[site.Role]time.Duration, error) {
	budgets := map[site.Role]time.Duration{}
	for _, b := range values {
		role, v, err := parseRoleValue("--budget", b, "DURATION")
		if err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, site.BadInput("--budget %q: want a positive duration such as 40s", b)
		}
		budgets[role] = d
	}
	return budgets, nil
}

// parseRoleValue reads flag's ROLE=VALUE; what names VALUE in the error.
func parseRoleValue(flag, s, what string) (site.Role, string, error) {
	r, v, ok := strings.Cut(s, "=")
	role := site.Role(r)
	if !ok || !role.Valid() {
		var want []string
		for _, x := range site.Roles() {
			want = append(want, string(x)+"="+what)
		}
		return "", "", site.BadInput("%s %q: want %s", flag, s, strings.Join(want, " or "))
	}
	return role, v, nil
}
