package boottest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// gzipCheck asks the load balancer for a JSON answer larger than NGINX's
// gzip_min_length (the record list, which recordCheck filled) with
// Accept-Encoding: gzip: it must come back compressed, with
// Vary: Accept-Encoding, and decompress to the JSON the application sent.
// HAProxy passes the F5's Via-less request on; gzip_proxied any compresses
// with or without Via.
func (t *Test) gzipCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.lbBase()+"/api/fixture/records", nil)
		if err != nil {
			return err
		}
		req.Host = t.urlHost
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Via", "1.1 f5-stand-in")
		resp, err := t.client().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		fmt.Fprintf(out, "GET /api/fixture/records: %s, Content-Type %q, Content-Encoding %q, Vary %q\n",
			resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /api/fixture/records: %s", resp.Status)
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			return fmt.Errorf("the JSON answer is not gzip-compressed")
		}
		zr, err := gzip.NewReader(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return fmt.Errorf("the answer says gzip but is not: %w", err)
		}
		var list struct {
			Count int `json:"count"`
		}
		if err := json.NewDecoder(zr).Decode(&list); err != nil {
			return fmt.Errorf("the decompressed answer is not the record list: %w", err)
		}
		fmt.Fprintf(out, "decompressed: %d records\n", list.Count)
		return nil
	}
}
