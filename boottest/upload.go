package boottest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// Sizes of the large upload check.
const (
	// largeUpload is the upload's size: 200 MB, beyond every buffer NGINX
	// and uWSGI keep in memory.
	largeUpload = 200 << 20
	// rootSlack is how much the web host's root file system may grow
	// during the upload beyond the stored file itself (logs, the
	// database's own writes on an all-in-one host): a temporary copy of the
	// body would be the whole upload.
	rootSlack = 64 << 20
	// transferTimeout bounds the upload and the download, under emulation.
	transferTimeout = 10 * time.Minute
)

// tempDirs are where a temporary copy of a request body would land on a
// web host: NGINX's client_body_temp_path and the units' private /tmp and
// /var/tmp (uWSGI's post-buffering spools there).
const tempDirs = "/var/lib/nginx /tmp /var/tmp"

// diskSample is one look at a web host's root file system during the upload.
type diskSample struct {
	rootUsed, filesOnRoot int64
	tempFiles             []string
}

// largeUploadCheck streams a 200 MB body to InvenioRDM's file content URL
// on one web host, through NGINX (uwsgi_request_buffering off) and uWSGI (no
// post-buffering) to the application, which writes it in chunks to the
// files location. Meanwhile it samples the host's root file system twice a
// second: it may grow by the stored file (where the files live on it) and
// little else, and no file may grow in NGINX's or uWSGI's temporary
// directories. It then downloads the file and compares checksums.
func (t *Test) largeUploadCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		g := t.webGuests()[0]
		loc, err := t.servicesGuest().run(ctx, psqlRows(filesLocationQuery))
		if err != nil {
			return fmt.Errorf("reading files_location: %w: %s", err, loc)
		}
		dir := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(loc), "file://"), "/")
		if _, err := g.run(ctx, "touch /run/invenio-upload-check"); err != nil {
			return err
		}
		first, err := t.diskSample(ctx, g, dir)
		if err != nil {
			return err
		}
		mon := t.watchDisk(ctx, g, dir, first)
		name := marker("large") + ".bin"
		start := time.Now()
		f, sum, upErr := t.streamUpload(ctx, g, name)
		took := time.Since(start)
		peak, temps, monErr := mon.stop()
		if upErr != nil {
			return upErr
		}
		defer func() {
			// The file only takes room; a failed removal changes no result.
			_, _ = g.run(context.WithoutCancel(ctx), "rm -f "+escape.Shell(f.URI))
		}()
		fmt.Fprintf(out, "%d MB to %s in %.1fs (%.1f MB/s), stored at %s; root file system grew by at most %.1f MB beyond the file (%d samples)\n",
			largeUpload>>20, g.Host.Name, took.Seconds(), float64(largeUpload>>20)/took.Seconds(), f.URI, float64(peak)/(1<<20), mon.samples)
		t.figure("%s: a %d MB upload streamed in %.1fs; root disk grew %.1f MB beyond the file", g.Host.Name, largeUpload>>20, took.Seconds(), float64(peak)/(1<<20))
		var problems []string
		if monErr != nil {
			problems = append(problems, "sampling the root file system: "+monErr.Error())
		}
		if peak > rootSlack {
			problems = append(problems, fmt.Sprintf("the root file system grew by %d MB beyond the stored file: a temporary copy of the body", peak>>20))
		}
		if len(temps) > 0 {
			problems = append(problems, "files grew in temporary directories: "+strings.Join(temps, ", "))
		}
		if f.Size != largeUpload || f.Checksum != "md5:"+sum {
			problems = append(problems, fmt.Sprintf("stored %d bytes %s, sent %d bytes md5:%s", f.Size, f.Checksum, largeUpload, sum))
		}
		if len(problems) == 0 {
			problems = t.downloadMatches(ctx, g, name, sum, out)
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}

// uploadedFile is the fixture's answer to an upload.
type uploadedFile struct {
	storedFile
	Checksum string `json:"checksum"`
}

// streamUpload PUTs largeUpload random bytes to InvenioRDM's draft file
// content URL on g's NGINX, as the load balancer would, and returns the
// application's answer and the body's MD5.
func (t *Test) streamUpload(ctx context.Context, g *guest, name string) (uploadedFile, string, error) {
	ctx, cancel := context.WithTimeout(ctx, transferTimeout)
	defer cancel()
	h := md5.New()
	body := io.TeeReader(io.LimitReader(rand.Reader, largeUpload), h)
	path := "/api/records/bt000-00001/draft/files/" + name + "/content"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, webBase(g)+path, body)
	if err != nil {
		return uploadedFile{}, "", err
	}
	req.Host, req.ContentLength = t.urlHost, largeUpload
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := t.transferClient().Do(req)
	if err != nil {
		return uploadedFile{}, "", fmt.Errorf("PUT %s on %s: %w", path, g.Host.Name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return uploadedFile{}, "", fmt.Errorf("PUT %s on %s: %s: %s", path, g.Host.Name, resp.Status, strings.TrimSpace(string(b)))
	}
	var f uploadedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return f, "", fmt.Errorf("upload answer %s: %w", b, err)
	}
	return f, hex.EncodeToString(h.Sum(nil)), nil
}

// downloadMatches streams the file back through g's NGINX and compares
// its MD5 with the upload's.
func (t *Test) downloadMatches(ctx context.Context, g *guest, name, sum string, out io.Writer) []string {
	ctx, cancel := context.WithTimeout(ctx, transferTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, webBase(g)+"/api/fixture/files/"+name, nil)
	if err != nil {
		return []string{err.Error()}
	}
	req.Host = t.urlHost
	start := time.Now()
	resp, err := t.transferClient().Do(req)
	if err != nil {
		return []string{"downloading: " + err.Error()}
	}
	defer resp.Body.Close()
	h := md5.New()
	n, err := io.Copy(h, resp.Body)
	switch got := hex.EncodeToString(h.Sum(nil)); {
	case resp.StatusCode != http.StatusOK:
		return []string{"downloading: " + resp.Status}
	case err != nil:
		return []string{fmt.Sprintf("downloading: %v after %d bytes", err, n)}
	case got != sum:
		return []string{fmt.Sprintf("downloaded %d bytes md5:%s, uploaded md5:%s", n, got, sum)}
	}
	fmt.Fprintf(out, "downloaded again in %.1fs, same MD5\n", time.Since(start).Seconds())
	return nil
}

// transferClient is an HTTPS client from the load balancer's address (the
// only one the web hosts' firewall lets reach :8080) with a timeout for
// large transfers.
func (t *Test) transferClient() *http.Client {
	c := t.nw.HTTPClientFrom(t.plan.LB, t.pki.ClientTLS(t.urlHost))
	c.Timeout = transferTimeout
	return c
}

// diskSample reads the root file system's used bytes, the size of the files
// directory when it lies on the root file system (0 when it is mounted
// from elsewhere), and files over 1 MB in the temporary directories that
// changed since the check began.
func (t *Test) diskSample(ctx context.Context, g *guest, dir string) (diskSample, error) {
	d := escape.Shell(dir)
	out, err := g.run(ctx, `df -B1 --output=used / | tail -n 1
if [ "$(stat -c %d /)" = "$(stat -c %d `+d+`)" ]; then du -sb `+d+` | cut -f1; else echo 0; fi
find `+tempDirs+` -xdev -type f -size +1M -newer /run/invenio-upload-check 2>/dev/null | head -n 5`)
	if err != nil {
		return diskSample{}, fmt.Errorf("%w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return diskSample{}, fmt.Errorf("unreadable sample %q", out)
	}
	var s diskSample
	if s.rootUsed, err = strconv.ParseInt(strings.TrimSpace(lines[0]), 10, 64); err != nil {
		return s, fmt.Errorf("df: %q", lines[0])
	}
	if s.filesOnRoot, err = strconv.ParseInt(strings.TrimSpace(lines[1]), 10, 64); err != nil {
		return s, fmt.Errorf("du: %q", lines[1])
	}
	s.tempFiles = lines[2:]
	return s, nil
}

// diskWatch samples a web host's root file system until stopped.
type diskWatch struct {
	done    chan struct{}
	wg      sync.WaitGroup
	peak    int64
	temps   map[string]bool
	samples int
	err     error
}

// watchDisk samples g twice a second and keeps the largest growth of the
// root file system beyond the growth of the files directory on it.
func (t *Test) watchDisk(ctx context.Context, g *guest, dir string, first diskSample) *diskWatch {
	w := &diskWatch{done: make(chan struct{}), temps: map[string]bool{}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			s, err := t.diskSample(ctx, g, dir)
			if err != nil {
				w.err = err
			} else {
				w.samples++
				w.peak = max(w.peak, (s.rootUsed-first.rootUsed)-(s.filesOnRoot-first.filesOnRoot))
				for _, f := range s.tempFiles {
					w.temps[f] = true
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the peak growth, the temporary files
// seen and the last sampling error (none when a sample was taken at all).
func (w *diskWatch) stop() (int64, []string, error) {
	close(w.done)
	w.wg.Wait()
	var temps []string
	for f := range w.temps {
		temps = append(temps, f)
	}
	if w.samples > 2 {
		w.err = nil
	} else if w.err == nil {
		w.err = errors.New("fewer than three samples during the upload")
	}
	return w.peak, temps, w.err
}

// diskHeadroom is what each guest's disk has beyond its image: cloud-init
// grows the root file system into it on first boot, as on a real VM, and
// it holds the large upload on an all-in-one host.
const diskHeadroom = 1 << 30

// imageSize returns a disk image's virtual size (qemu-img info).
func imageSize(ctx context.Context, image string) (int64, error) {
	out, err := exec.CommandContext(ctx, "qemu-img", "info", "--output=json", image).Output()
	if err != nil {
		return 0, fmt.Errorf("qemu-img info %s: %w", image, err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, fmt.Errorf("qemu-img info %s: %w", image, err)
	}
	return info.VirtualSize, nil
}
