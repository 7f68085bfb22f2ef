package boottest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// hostileSecret is what every application secret of the test starts with:
// quotes, a backslash, shell syntax, a carriage return and bytes that are
// not UTF-8, which no shell assignment and no raw environment variable
// would carry as they are. A random tail makes each one findable.
const hostileSecret = "q'd\"b\\s $(id) `id` \r\xff\xfe 1e5 "

// appSecrets returns the test's application secrets: a hostile value for
// every key the site names but the last, which stays missing, so that
// invenio-secrets keys has one to report.
func appSecrets(s *site.Site) (seed.AppSecrets, error) {
	keys := s.Application.Secrets
	values := map[string]string{}
	for i, k := range keys {
		if i == len(keys)-1 && len(keys) > 1 {
			break
		}
		values[k] = hostileSecret + marker("secret")
	}
	return seed.NewAppSecrets(values)
}

// appSecretsCheck checks on every web host that the application secrets
// file came with the seed (0640 root:invenio), that the application holds
// each value exactly (the fixture answers its SHA-256, never the value),
// that a key the file lacks is no setting, and that invenio-secrets keys
// lists it as missing.
func (t *Test) appSecretsCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		want := t.site.Application.Secrets
		if len(want) == 0 {
			return junit.Skip("the site names no application secret")
		}
		var problems []string
		for _, g := range t.webGuests() {
			problems = append(problems, t.appSecretsOn(ctx, g, out)...)
		}
		if len(problems) > 0 {
			return fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return nil
	}
}

// appSecretsOn checks one web host's application secrets.
func (t *Test) appSecretsOn(ctx context.Context, g *guest, out io.Writer) []string {
	var problems []string
	mode, err := g.run(ctx, "stat -c '%a %U %G' "+site.AppSecretsPath)
	if strings.TrimSpace(mode) != "640 root invenio" {
		problems = append(problems, fmt.Sprintf("%s: %s is %q (%v), want 640 root invenio", g.Host.Name, site.AppSecretsPath, strings.TrimSpace(mode), err))
	}
	keys, err := g.run(ctx, "invenio-secrets keys")
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: invenio-secrets keys: %v: %s", g.Host.Name, err, keys))
	}
	fmt.Fprintf(out, "%s: invenio-secrets keys:\n%s", g.Host.Name, keys)
	values := map[string]string{}
	for i, k := range t.appSecrets.Keys() {
		values[k] = t.appSecrets.Values()[i]
	}
	for _, k := range t.site.Application.Secrets {
		v, ok := values[k]
		state := "missing"
		if ok {
			state = "present"
		}
		if line := k + " " + site.AppSecretsPath + " " + state; !strings.Contains(keys, line+"\n") {
			problems = append(problems, fmt.Sprintf("%s: invenio-secrets keys lacks %q", g.Host.Name, line))
		}
		problems = append(problems, t.settingDigest(ctx, g, k, v, ok, out)...)
	}
	return problems
}

// settingDigest compares the application's setting k with value v (or,
// when !ok, checks that it has no such setting).
func (t *Test) settingDigest(ctx context.Context, g *guest, k, v string, ok bool, out io.Writer) []string {
	a, err := t.do(ctx, http.MethodGet, webBase(g), "/api/fixture/settings/"+k+"/digest", nil)
	if err != nil {
		return []string{fmt.Sprintf("%s: %s: %v", g.Host.Name, k, err)}
	}
	if !ok {
		if a.Status != http.StatusNotFound {
			return []string{fmt.Sprintf("%s: %s is not in the file, yet the application has it (%d)", g.Host.Name, k, a.Status)}
		}
		fmt.Fprintf(out, "%s: %s missing, no setting\n", g.Host.Name, k)
		return nil
	}
	var d struct{ Type, SHA256 string }
	if err := json.Unmarshal(a.Body, &d); err != nil || a.Status != http.StatusOK {
		return []string{fmt.Sprintf("%s: %s: %d %s", g.Host.Name, k, a.Status, a.Body)}
	}
	sum := sha256.Sum256([]byte(v))
	if d.Type != "str" || d.SHA256 != hex.EncodeToString(sum[:]) {
		return []string{fmt.Sprintf("%s: the application's %s is a %s with another value (SHA-256 %s)", g.Host.Name, k, d.Type, d.SHA256)}
	}
	fmt.Fprintf(out, "%s: %s reached the application exactly (a %d-byte string of quotes, shell syntax, CR and non-UTF-8 bytes)\n", g.Host.Name, k, len(v))
	return nil
}
