package boottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
)

// legacyPathCheck checks that a file record of an earlier deployment, whose
// URI names the site's legacy files path (TU Graz's
// /opt/invenio/var/instance/data), is still read: every web host keeps the
// old path as a link to the shared storage's mountpoint, and the application opens the
// URI the record holds, as invenio-files-rest does. The check writes a file,
// rewrites its record's URI to the old path, as an old record holds it,
// and reads it through another web host.
func (t *Test) legacyPathCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		link, target := t.site.LegacyLink()
		if link == "" {
			return junit.Skip("the site keeps no legacy files path")
		}
		for _, g := range t.webGuests() {
			got, err := g.run(ctx, "readlink "+escape.Shell(link))
			if err != nil {
				return fmt.Errorf("%s: readlink %s: %w", g.Host.Name, link, err)
			}
			if strings.TrimSpace(got) != target {
				return fmt.Errorf("%s: %s links to %q, want %s", g.Host.Name, link, strings.TrimSpace(got), target)
			}
		}
		web := t.webGuests()
		from, to := web[0], web[len(web)-1]
		name := marker("legacy")
		data := []byte(name + "\n")
		a, err := t.expect(ctx, http.MethodPost, webBase(from), "/api/fixture/files/"+name, data, http.StatusCreated)
		if err != nil {
			return err
		}
		var f storedFile
		if err := json.Unmarshal(a.Body, &f); err != nil {
			return fmt.Errorf("upload answer %s: %w", a.Body, err)
		}
		if !strings.HasPrefix(f.URI, target+"/") {
			return fmt.Errorf("%s was stored at %s, not below the shared storage %s", name, f.URI, target)
		}
		old := link + strings.TrimPrefix(f.URI, target)
		sql := "UPDATE files_files SET uri = " + sqlString(old) + " WHERE key = " + sqlString(name)
		if res, err := t.servicesGuest().run(ctx, psqlRows(sql)); err != nil {
			return fmt.Errorf("rewriting the record's URI: %w: %s", err, res)
		}
		got, err := t.expect(ctx, http.MethodGet, webBase(to), "/api/fixture/files/"+name, nil, http.StatusOK)
		if err != nil {
			return fmt.Errorf("reading a record that holds %s on %s: %w", old, to.Host.Name, err)
		}
		if !bytes.Equal(got.Body, data) {
			return fmt.Errorf("%s read %q through %s, want %q", to.Host.Name, got.Body, old, data)
		}
		fmt.Fprintf(out, "every web host links %s to %s; a record holding %s was read on %s\n", link, target, old, to.Host.Name)
		return nil
	}
}

// sqlString returns s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
