package boottest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// trafficPause is the client's pause between two requests.
const trafficPause = 50 * time.Millisecond

// sample is one request the client sent while the hosts were upgraded.
type sample struct {
	At   time.Time
	Path string
	// Host answered (X-Fixture-Host); Version is the application release
	// that answered (X-Fixture-Release, on every answer of the application:
	// with a round-robin load balancer and a loop of even length, the
	// answers of one path may all come from one host).
	Host, Version string
	// Upgrading is the host being upgraded when the request was sent.
	Upgrading string
	// Err says why the request failed; empty when it succeeded.
	Err string
}

// traffic is a client sending requests through the load balancer in a
// loop, as users do: the UI's index page, the API's info, records and
// files written before the upgrade, each answer checked.
type traffic struct {
	// old is the application's version before the upgrade.
	old  string
	stop func()

	mu      sync.Mutex
	current string
	samples []sample
	start   time.Time
}

// request is one request of the loop and how to judge its answer.
type request struct {
	path  string
	judge func(answer) error
}

// startTraffic asks which release serves now and starts the loop.
func (t *Test) startTraffic(ctx context.Context, d written) *traffic {
	tr := &traffic{start: time.Now()}
	_ = poll(ctx, 30*time.Second, time.Second, func() error {
		a, err := t.expect(ctx, http.MethodGet, t.lbBase(), infoPath, nil, http.StatusOK)
		if err == nil && a.Release == "" {
			err = fmt.Errorf("the application's answer names no release (%s)", releaseHeader)
		}
		tr.old = a.Release
		return err
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	tr.stop = func() { cancel(); <-done }
	go func() {
		defer close(done)
		reqs := trafficRequests(d)
		for i := 0; ctx.Err() == nil; i++ {
			r := reqs[i%len(reqs)]
			s := sample{At: time.Now(), Path: r.path, Upgrading: tr.upgradingNow()}
			a, err := t.expect(ctx, http.MethodGet, t.lbBase(), r.path, nil, http.StatusOK)
			if err == nil {
				err = r.judge(a)
			}
			if ctx.Err() != nil {
				return // cut short by the end of the upgrade, not failed
			}
			s.Host = a.Host
			if err != nil {
				s.Err = err.Error()
			} else {
				s.Version = a.Release
			}
			tr.add(s)
			time.Sleep(trafficPause)
		}
	}()
	return tr
}

const infoPath = "/api/fixture/info"

// trafficRequests are the loop's requests: the UI's index page, the API's
// info (which names the release), then each record and file written
// before. (Not /ping: a draining host answers it 503 on purpose, for the
// load balancer, until the health check takes the host out.)
func trafficRequests(d written) []request {
	ok := func(answer) error { return nil }
	var out []request
	for i, rec := range d.records {
		out = append(out, request{path: "/", judge: ok}, request{path: infoPath, judge: ok},
			request{path: rec.path(), judge: rec.judge})
		if i < len(d.files) {
			out = append(out, request{path: d.files[i].path(), judge: d.files[i].judge})
		}
	}
	return out
}

// upgrading names the host being upgraded from now on ("" for none).
func (tr *traffic) upgrading(host string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.current = host
}

func (tr *traffic) upgradingNow() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.current
}

func (tr *traffic) add(s sample) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.samples = append(tr.samples, s)
}

// all returns a copy of the samples so far.
func (tr *traffic) all() []sample {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]sample(nil), tr.samples...)
}

// isNew reports whether a sample was answered by a release other than the
// one that served before the upgrade.
func (tr *traffic) isNew(s sample) bool {
	return s.Err == "" && s.Version != "" && s.Version != tr.old
}

// waitForNew waits until host answered through the load balancer with a
// release other than the old one.
func (tr *traffic) waitForNew(ctx context.Context, host string, timeout time.Duration) error {
	return poll(ctx, timeout, time.Second, func() error {
		for _, s := range tr.all() {
			if s.Host == host && tr.isNew(s) {
				return nil
			}
		}
		return fmt.Errorf("no answer from %s with a release other than %q yet", host, tr.old)
	})
}

// firstNew is the time of the first answer of a release other than the
// old one; zero when there was none.
func (tr *traffic) firstNew() (sample, bool) {
	for _, s := range tr.all() {
		if tr.isNew(s) {
			return s, true
		}
	}
	return sample{}, false
}

// failed returns the failed requests.
func (tr *traffic) failed() []sample {
	var out []sample
	for _, s := range tr.all() {
		if s.Err != "" {
			out = append(out, s)
		}
	}
	return out
}

// summary counts the requests: succeeded by host and by release, failed.
func (tr *traffic) summary() string {
	if tr == nil {
		return "none sent"
	}
	byHost, byVersion := map[string]int{}, map[string]int{}
	ok, failed := 0, 0
	for _, s := range tr.all() {
		if s.Err != "" {
			failed++
			continue
		}
		ok++
		byHost[s.Host]++
		if s.Version != "" {
			byVersion[s.Version]++
		}
	}
	return fmt.Sprintf("%d sent, %d ok (by host: %s; answers by release: %s), %d failed",
		ok+failed, ok, counts(byHost), counts(byVersion), failed)
}

// counts renders a count per key, sorted by key.
func counts(m map[string]int) string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// describe renders a failed request for the report: when, while which
// host was upgraded, who answered and why it failed.
func (tr *traffic) describe(s sample) string {
	who := s.Host
	if who == "" {
		who = "no host"
	}
	during := s.Upgrading
	if during == "" {
		during = "no host"
	}
	return fmt.Sprintf("%s (+%.1fs) GET %s while upgrading %s, answered by %s: %s",
		s.At.UTC().Format("15:04:05.000"), s.At.Sub(tr.start).Seconds(), s.Path, during, who, s.Err)
}

// equalBody judges an answer by its body.
func equalBody(want []byte) func(answer) error {
	return func(a answer) error {
		if !bytes.Equal(a.Body, want) {
			return fmt.Errorf("read %q, want %q", a.Body, want)
		}
		return nil
	}
}
