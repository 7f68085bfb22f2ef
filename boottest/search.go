package boottest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
)

// searchAutoCreateCheck writes a document to an index InvenioRDM's
// statistics create on the fly, which the engine must create, and to any
// other missing index, which it must refuse; the test index goes again.
func (t *Test) searchAutoCreateCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		if t.searchStandIn(g) {
			return junit.Skipf("no %s package is available here: the image carries a STAND-IN", t.site.Search.Engine)
		}
		prefix := t.in.Name + "-"
		post := func(index string) (string, error) {
			return g.run(ctx, "curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "+
				escape.Shell("http://localhost:9200/"+index+"/_doc")+" -d '{\"boot_test\": true}'")
		}
		stats := prefix + "stats-boot-test"
		code, err := post(stats)
		fmt.Fprintf(out, "POST %s/_doc: %s\n", stats, code)
		_, _ = g.run(ctx, "curl -sS -X DELETE "+escape.Shell("http://localhost:9200/"+stats)+" >/dev/null")
		if err != nil {
			return fmt.Errorf("a statistics index was not created on the fly: %w", err)
		}
		if code != "201" {
			return fmt.Errorf("a statistics index was not created on the fly: HTTP %s", code)
		}
		other := prefix + "boot-test-other"
		code, err = post(other)
		fmt.Fprintf(out, "POST %s/_doc: %s\n", other, code)
		if err != nil || code != "404" {
			_, _ = g.run(ctx, "curl -sS -X DELETE "+escape.Shell("http://localhost:9200/"+other)+" >/dev/null")
		}
		if err != nil {
			return fmt.Errorf("an index outside InvenioRDM's patterns was not refused: %w", err)
		}
		if code != "404" {
			return fmt.Errorf("an index outside InvenioRDM's patterns was not refused: HTTP %s", code)
		}
		return nil
	}
}

// searchSnapshotCheck runs invenio-search-snapshot.service once and finds
// its snapshot in the repository.
func (t *Test) searchSnapshotCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		if t.searchStandIn(g) {
			return junit.Skipf("no %s package is available here: the image carries a STAND-IN", t.site.Search.Engine)
		}
		unit := roles.SearchSnapshotService
		if res, err := g.run(ctx, "systemctl start "+unit); err != nil {
			j, _ := g.run(ctx, "journalctl --no-pager -b -n 20 -u "+unit)
			return fmt.Errorf("%s: %w: %s%s", unit, err, res, j)
		}
		list, err := g.run(ctx, "curl -fsS 'http://localhost:9200/_cat/snapshots/invenio?h=id,status'")
		fmt.Fprint(out, list)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(list, "\n") {
			if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "invenio-") && f[1] == "SUCCESS" {
				return nil
			}
		}
		return fmt.Errorf("no successful snapshot in the repository invenio")
	}
}
