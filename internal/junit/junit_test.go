package junit_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
)

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

// sampleRun runs one check of each kind, as a boot test would.
func sampleRun(out io.Writer) *junit.Runner {
	r := &junit.Runner{Out: out, Now: fakeClock(1500 * time.Millisecond)}
	ctx := context.Background()
	r.Run(ctx, junit.Check{Suite: "prod/invenio01-prod", Name: "every unit active", Attachments: []string{"prod/invenio01-prod/serial.log"},
		Run: func(_ context.Context, w io.Writer) error {
			fmt.Fprintln(w, "42 units active")
			return nil
		}})
	r.Run(ctx, junit.Check{Suite: "prod/invenio01-prod", Name: "/ping answers OK", Run: func(_ context.Context, w io.Writer) error {
		fmt.Fprint(w, "GET https://10.10.3.11:8080/ping\n\x1b[31mconsole\x00noise\n")
		return errors.New("status 502 <Bad Gateway>\nbody: upstream \"ui\" refused")
	}})
	r.Run(ctx, junit.Check{Suite: "prod/invenio03-prod", Name: "search engine green or yellow", Run: func(context.Context, io.Writer) error {
		return junit.Skip("no OpenSearch package is available to these machines")
	}})
	r.Run(ctx, junit.Check{Suite: "prod/invenio03-prod", Name: "a check that panics", Run: func(context.Context, io.Writer) error {
		panic("boom")
	}})
	return r
}

func TestReportGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, sampleRun(nil).Report("boot-test prod").Encode(&buf))
	golden.Assert(t, filepath.Join("testdata", "report.golden"), buf.String())

	// The document parses back, control characters and all.
	var doc junit.Testsuites
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &doc))
	assert.Equal(t, 4, doc.Tests)
	assert.Equal(t, 2, doc.Failures)
	assert.Equal(t, 1, doc.Skipped)
}

func TestSummaryLines(t *testing.T) {
	var out bytes.Buffer
	r := sampleRun(&out)
	assert.Equal(t, "PASS prod/invenio01-prod: every unit active (1.500s)\n"+
		"FAIL prod/invenio01-prod: /ping answers OK (1.500s): status 502 <Bad Gateway>\n"+
		"SKIP prod/invenio03-prod: search engine green or yellow (1.500s): no OpenSearch package is available to these machines\n"+
		"FAIL prod/invenio03-prod: a check that panics (1.500s): panic: boom\n", out.String())
	assert.Equal(t, "1 passed, 2 failed, 1 skipped", r.Summary())
	assert.True(t, r.Failed())
	assert.Equal(t, []string{
		"FAIL prod/invenio01-prod: /ping answers OK (1.500s): status 502 <Bad Gateway>",
		"FAIL prod/invenio03-prod: a check that panics (1.500s): panic: boom",
	}, r.FailedLines(0))
	assert.Equal(t, []string{"FAIL prod/invenio01-prod: /pin…", "FAIL prod/invenio03-prod: a ch…"}, r.FailedLines(30))
}

// TestSkipIsNeverPassed: a skip without a reason still is a skip, with a
// message that says so, and a wrapped skip is a skip too.
func TestSkipIsNeverPassed(t *testing.T) {
	r := &junit.Runner{}
	res := r.Run(context.Background(), junit.Check{Suite: "s", Name: "n", Run: func(context.Context, io.Writer) error {
		return junit.Skip(" ")
	}})
	assert.Equal(t, junit.StatusSkipped, res.Status)
	assert.Equal(t, "skipped without a reason", res.Message)
	res = r.Run(context.Background(), junit.Check{Suite: "s", Name: "wrapped", Run: func(context.Context, io.Writer) error {
		return fmt.Errorf("search: %w", junit.Skipf("no %s package", "opensearch"))
	}})
	assert.Equal(t, junit.StatusSkipped, res.Status)
	assert.Equal(t, "no opensearch package", res.Message)
	res = r.Run(context.Background(), junit.Check{Suite: "s", Name: "no run"})
	assert.Equal(t, junit.StatusFailed, res.Status)
	p, f, s := r.Count()
	assert.Equal(t, [3]int{0, 1, 2}, [3]int{p, f, s})

	tc := r.Report("x").Suites[0].Cases[0]
	assert.Nil(t, tc.Failure)
	require.NotNil(t, tc.Skipped)
	assert.Equal(t, "skipped without a reason", tc.Skipped.Message)
}

// TestConcurrentChecks keeps results in the order checks started.
func TestConcurrentChecks(t *testing.T) {
	r := &junit.Runner{}
	var wg sync.WaitGroup
	started := make(chan struct{})
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-started
			r.Run(context.Background(), junit.Check{Suite: fmt.Sprintf("vm%d", i%2), Name: fmt.Sprint(i), Run: func(context.Context, io.Writer) error {
				time.Sleep(time.Millisecond)
				return nil
			}})
		}()
	}
	close(started)
	wg.Wait()
	doc := r.Report("c")
	assert.Equal(t, 8, doc.Tests)
	assert.Len(t, doc.Suites, 2)
	assert.Equal(t, "8 passed, 0 failed, 0 skipped", r.Summary())
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.xml")
	require.NoError(t, sampleRun(nil).Report("r").WriteFile(p))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), xml.Header))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary file is left")
	assert.Error(t, junit.Testsuites{}.WriteFile(filepath.Join(dir, "no", "such", "dir.xml")))
}
