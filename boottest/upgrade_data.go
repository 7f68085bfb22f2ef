package boottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// dataCount is how many records (and files) are written before the upgrade.
const dataCount = 3

// writtenRecord is a record written through the load balancer.
type writtenRecord struct {
	ID    int
	Title string
}

func (r writtenRecord) path() string { return fmt.Sprintf("/api/fixture/records/%d", r.ID) }

func (r writtenRecord) judge(a answer) error {
	if !bytes.Contains(a.Body, []byte(r.Title)) {
		return fmt.Errorf("record %d read back without its title %s: %s", r.ID, r.Title, a.Body)
	}
	return nil
}

// writtenFile is a file written through the load balancer.
type writtenFile struct {
	Name string
	Data []byte
}

func (f writtenFile) path() string { return "/api/fixture/files/" + f.Name }

func (f writtenFile) judge(a answer) error { return equalBody(f.Data)(a) }

// written is what the test wrote through the load balancer before the
// upgrade.
type written struct {
	records []writtenRecord
	files   []writtenFile
}

// writeData writes records and, with shared storage, files through the
// load balancer.
func (t *Test) writeData(ctx context.Context, out io.Writer) (written, error) {
	var d written
	for range dataCount {
		title := marker("upgrade-record")
		body, _ := json.Marshal(map[string]string{"title": title})
		a, err := t.expect(ctx, http.MethodPost, t.lbBase(), "/api/fixture/records", body, http.StatusCreated)
		if err != nil {
			return d, err
		}
		var rec struct {
			ID int `json:"id"`
		}
		if err := json.Unmarshal(a.Body, &rec); err != nil {
			return d, fmt.Errorf("record: %w: %s", err, a.Body)
		}
		d.records = append(d.records, writtenRecord{ID: rec.ID, Title: title})
	}
	if st := t.site.Storage.Type; st != site.StorageNone && st != "" {
		for range dataCount {
			name := marker("upgrade-file")
			f := writtenFile{Name: name, Data: []byte(name + "\n")}
			if _, err := t.expect(ctx, http.MethodPost, t.lbBase(), f.path(), f.Data, http.StatusCreated); err != nil {
				return d, err
			}
			d.files = append(d.files, f)
		}
	}
	fmt.Fprintf(out, "written through the load balancer: %d records, %d files\n", len(d.records), len(d.files))
	return d, nil
}

// dataKeptCheck reads every record and file written before the upgrade
// through the load balancer.
func (t *Test) dataKeptCheck(r *rolling) check {
	return func(ctx context.Context, out io.Writer) error {
		if err := r.notRan(); err != nil {
			return err
		}
		var reqs []request
		for _, rec := range r.data.records {
			reqs = append(reqs, request{path: rec.path(), judge: rec.judge})
		}
		for _, f := range r.data.files {
			reqs = append(reqs, request{path: f.path(), judge: f.judge})
		}
		for _, q := range reqs {
			a, err := t.expect(ctx, http.MethodGet, t.lbBase(), q.path, nil, http.StatusOK)
			if err == nil {
				err = q.judge(a)
			}
			if err != nil {
				return fmt.Errorf("after the upgrade: %w", err)
			}
			fmt.Fprintf(out, "GET %s: read back from %s\n", q.path, a.Host)
		}
		return nil
	}
}
