package boottest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
)

// hostHeader names the host that answered and releaseHeader the release
// its process runs (the fixture application's test probes).
const (
	hostHeader    = "X-Fixture-Host"
	releaseHeader = "X-Fixture-Release"
)

// answer is an HTTP response read whole.
type answer struct {
	Status        int
	Host, Release string
	Body          []byte
}

// do sends a request to base (https://ADDR:PORT) with the instance's
// public name as Host, and reads the answer.
func (t *Test) do(ctx context.Context, method, base, path string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Host = t.urlHost
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.clientFor(base).Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{Status: resp.StatusCode, Host: resp.Header.Get(hostHeader), Release: resp.Header.Get(releaseHeader), Body: b}, err
}

// expect sends a request and requires the status.
func (t *Test) expect(ctx context.Context, method, base, path string, body []byte, status int) (answer, error) {
	a, err := t.do(ctx, method, base, path, body)
	if err != nil {
		return a, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if a.Status != status {
		return a, fmt.Errorf("%s %s: %d %s, want %d", method, path, a.Status, strings.TrimSpace(string(a.Body)), status)
	}
	return a, nil
}

// webBase is a web host's NGINX; lbBase the load balancer.
func webBase(g *guest) string {
	return "https://" + netip.AddrPortFrom(g.addr(), topology.WebPort).String()
}

func (t *Test) lbBase() string { return "https://" + t.lbAddr }

// pings checks /ping and /api/ping at base.
func (t *Test) pings(ctx context.Context, base string, out io.Writer) error {
	for _, p := range []string{"/ping", "/api/ping"} {
		a, err := t.expect(ctx, http.MethodGet, base, p, nil, http.StatusOK)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "GET %s%s: %d %q from %s\n", base, p, a.Status, strings.TrimSpace(string(a.Body)), a.Host)
	}
	return nil
}

func (t *Test) webPingCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error { return t.pings(ctx, webBase(g), out) }
}

// lbPingCheck pings through the load balancer once its health checks
// have found the web hosts.
func (t *Test) lbPingCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		return poll(ctx, 30*time.Second, time.Second, func() error { return t.pings(ctx, t.lbBase(), out) })
	}
}

// marker returns a fresh random word to find a test's data by.
func marker(what string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "boot-test-" + what + "-" + hex.EncodeToString(b)
}

// writeRecord writes a record through the load balancer and reads it back.
func (t *Test) writeRecord(ctx context.Context, out io.Writer) error {
	title := marker("record")
	body, _ := json.Marshal(map[string]string{"title": title})
	a, err := t.expect(ctx, http.MethodPost, t.lbBase(), "/api/fixture/records", body, http.StatusCreated)
	if err != nil {
		return err
	}
	var rec struct {
		ID    int    `json:"id"`
		Title string `json:"title"`
		Host  string `json:"host"`
	}
	if err := json.Unmarshal(a.Body, &rec); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	a, err = t.expect(ctx, http.MethodGet, t.lbBase(), fmt.Sprintf("/api/fixture/records/%d", rec.ID), nil, http.StatusOK)
	if err != nil {
		return err
	}
	if !bytes.Contains(a.Body, []byte(title)) {
		return fmt.Errorf("record %d read back without its title: %s", rec.ID, a.Body)
	}
	fmt.Fprintf(out, "record %d written by %s, read back by %s\n", rec.ID, rec.Host, a.Host)
	return nil
}

func (t *Test) recordCheck() check {
	return func(ctx context.Context, out io.Writer) error { return t.writeRecord(ctx, out) }
}

// roundTrip sends a Celery task through the load balancer and waits for
// its result.
func (t *Test) roundTrip(ctx context.Context, out io.Writer, wait time.Duration) error {
	word := marker("task")
	body, _ := json.Marshal(map[string]string{"marker": word})
	a, err := t.expect(ctx, http.MethodPost, t.lbBase(), "/api/fixture/tasks", body, http.StatusAccepted)
	if err != nil {
		return err
	}
	var sent struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(a.Body, &sent); err != nil || sent.ID == "" {
		return fmt.Errorf("task: %s", a.Body)
	}
	start := time.Now()
	var state string
	err = poll(ctx, wait, time.Second, func() error {
		a, err := t.expect(ctx, http.MethodGet, t.lbBase(), "/api/fixture/tasks/"+sent.ID, nil, http.StatusOK)
		if err != nil {
			return err
		}
		var res struct {
			State string `json:"state"`
		}
		_ = json.Unmarshal(a.Body, &res)
		state = res.State
		if res.State != "SUCCESS" || !bytes.Contains(a.Body, []byte(word)) {
			return fmt.Errorf("task %s: %s", sent.ID, a.Body)
		}
		return nil
	})
	fmt.Fprintf(out, "task %s: %s after %.1fs\n", sent.ID, state, time.Since(start).Seconds())
	return err
}

func (t *Test) taskCheck() check {
	return func(ctx context.Context, out io.Writer) error { return t.roundTrip(ctx, out, 2*time.Minute) }
}

// beatCheck waits for beat's heartbeat and requires it from the beat host
// only, and beat's units (Celery beat, InvenioRDM's jobs beat) active there
// and on no other web host.
func (t *Test) beatCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		var beat struct {
			Hosts map[string]json.RawMessage `json:"hosts"`
			Count int                        `json:"count"`
		}
		read := func() error {
			a, err := t.expect(ctx, http.MethodGet, t.lbBase(), "/api/fixture/beat", nil, http.StatusOK)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(a.Body, &beat); err != nil {
				return err
			}
			if beat.Count == 0 {
				return errors.New("no heartbeat from any beat yet")
			}
			return nil
		}
		if err := poll(ctx, 2*time.Minute, 2*time.Second, read); err != nil {
			return err
		}
		// A second beat shows in the heartbeats of the last minute only
		// if it has run that long: the units say at once where one runs.
		want := t.beatHost()
		for _, g := range t.webGuests() {
			active, err := g.run(ctx, "systemctl list-units --state=active --plain --no-legend 'invenio-*beat.service' | awk '{print $1}'")
			if err != nil {
				return err
			}
			units := strings.Fields(active)
			fmt.Fprintf(out, "%s: beat units active: %v\n", g.Host.Name, units)
			if (len(units) > 0) != (g.Host.Name == want) {
				return fmt.Errorf("%s: beat units active: %v; beat must run on %s only", g.Host.Name, units, want)
			}
		}
		var hosts []string
		for h := range beat.Hosts {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		fmt.Fprintf(out, "heartbeats from: %v\n", hosts)
		if len(hosts) != 1 || hosts[0] != want {
			return fmt.Errorf("beat runs on %v, want exactly %s", hosts, want)
		}
		return nil
	}
}

// beatHost names the instance's host with beat: true.
func (t *Test) beatHost() string {
	for _, h := range t.in.Hosts {
		if h.Beat {
			return h.Name
		}
	}
	return ""
}

// storageCheck writes a file through one web host's NGINX, finds it below
// the database's files location on the shared storage, and reads it
// through another host's NGINX (or the same, with one web host).
func (t *Test) storageCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		if st := t.site.Storage.Type; st == site.StorageNone || st == "" {
			return junit.Skip("the site configures no shared storage")
		}
		web := t.webGuests()
		from, to := web[0], web[len(web)-1]
		name := marker("file")
		data := []byte(name + "\n")
		if err := t.storedUnder(ctx, from, to, name, data, out); err != nil {
			return err
		}
		a, err := t.expect(ctx, http.MethodGet, webBase(to), "/api/fixture/files/"+name, nil, http.StatusOK)
		if err != nil {
			return fmt.Errorf("reading on %s: %w", to.Host.Name, err)
		}
		if !bytes.Equal(a.Body, data) {
			return fmt.Errorf("%s read %q, %s wrote %q", to.Host.Name, a.Body, from.Host.Name, data)
		}
		fmt.Fprintf(out, "%s written on %s, read on %s\n", name, from.Host.Name, to.Host.Name)
		return nil
	}
}

// mailCheck sends a message from every web host to the services host's
// Exim, which must relay it to the smarthost: the test's sink.
func (t *Test) mailCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		svc := t.servicesGuest()
		for _, g := range t.webGuests() {
			word := marker("mail")
			py := fmt.Sprintf(`import smtplib
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "boot-test@%s"
m["To"] = "boot-test@example.org"
m["Subject"] = "%s"
m.set_content("%s from %s")
with smtplib.SMTP("%s", 25, timeout=60) as s:
    s.send_message(m)
`, t.senderDomain(), word, word, g.Host.Name, svc.addr())
			if _, err := g.run(ctx, "python3 -c "+escape.Shell(py)); err != nil {
				return fmt.Errorf("sending from %s: %w", g.Host.Name, err)
			}
			m, ok := t.sink.Wait(word, 2*time.Minute)
			if !ok {
				q, _ := svc.run(ctx, "exim4 -bp | head -20")
				return fmt.Errorf("mail from %s did not reach the smarthost within 2m; exim queue on %s:\n%s", g.Host.Name, svc.Host.Name, q)
			}
			fmt.Fprintf(out, "from %s: relayed by %s to the smarthost (%s → %v)\n", g.Host.Name, peerIP(m.Peer), m.From, m.To)
			if peerIP(m.Peer) != svc.addr().String() {
				return fmt.Errorf("the message came from %s, not the services host %s", m.Peer, svc.addr())
			}
		}
		return nil
	}
}
