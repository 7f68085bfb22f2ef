package testreport

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/junit"
)

// sample.jsonl is real `go test -json -p 1 ./...` output of a module with a
// passing and a skipped test, a failing subtest, a package without tests,
// one that does not build and one that panics, behind two lines of make's.
func TestSample(t *testing.T) {
	f, err := os.Open("testdata/sample.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var log bytes.Buffer
	c := New(&log)
	require.NoError(t, c.Read(f))
	require.True(t, c.Failed())

	out := log.String()
	for _, want := range []string{
		"install-deps: all 44 host packages present\n", // other lines pass through
		"--- FAIL: example.org/sample/bad TestSub/broken",
		"bad_test.go:7: want 2, got 3",
		"FAIL example.org/sample/bad",
		"build of example.org/sample/broken [example.org/sample/broken.test] failed:",
		"undefined: undefined",
		"--- SKIP: example.org/sample/good TestSkip: good_test.go:6: need: lintian is not installed",
		"ok   example.org/sample/good",
		"?    example.org/sample/notests [no test files]",
		"--- FAIL: example.org/sample/panics TestPanic",
		"assignment to entry in nil map",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "=== RUN   TestPass", "passing tests stay out of the log")

	doc := c.Report("go test")
	byName := map[string]junit.Testsuite{}
	for _, s := range doc.Suites {
		byName[strings.TrimPrefix(s.Name, "example.org/sample/")] = s
	}
	require.NotContains(t, byName, "notests", "a package without tests has no suite")
	require.Len(t, byName["good"].Cases, 2)
	require.Equal(t, 1, byName["good"].Skipped)
	require.Equal(t, "good_test.go:6: need: lintian is not installed; run scripts/install-deps",
		byName["good"].Cases[1].Skipped.Message)
	require.Equal(t, 2, byName["bad"].Failures, "the subtest and its parent")
	require.Equal(t, "(package)", byName["broken"].Cases[0].Name, "a build failure is a case of its own")
	require.Contains(t, byName["broken"].Cases[0].Failure.Text, "build failed")
	require.Equal(t, 1, byName["panics"].Failures)
	require.Equal(t, doc.Failures, 4)

	var xml bytes.Buffer
	require.NoError(t, doc.Encode(&xml))
	require.Contains(t, xml.String(), `<testcase name="TestSub/broken" classname="example.org/sample/bad"`)
}

func TestCutShort(t *testing.T) {
	// go test killed mid-run: the running test and its package fail.
	in := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestLong"}
{"Action":"output","Package":"p","Test":"TestLong","Output":"=== RUN   TestLong\n"}
`
	var log bytes.Buffer
	c := New(&log)
	require.NoError(t, c.Read(strings.NewReader(in)))
	require.True(t, c.Failed())
	doc := c.Report("r")
	require.Equal(t, 1, doc.Failures)
	require.Contains(t, doc.Suites[0].Cases[0].Failure.Text, "did not finish")
	require.Contains(t, log.String(), "FAIL p")
}

func TestAllPassed(t *testing.T) {
	in := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestSlow"}
{"Action":"pass","Package":"p","Test":"TestSlow","Elapsed":12.5}
{"Action":"run","Package":"p","Test":"TestQuick"}
{"Action":"pass","Package":"p","Test":"TestQuick","Elapsed":0.1}
{"Action":"pass","Package":"p","Elapsed":12.7}
`
	var log bytes.Buffer
	c := New(&log)
	require.NoError(t, c.Read(strings.NewReader(in)))
	require.False(t, c.Failed())
	require.Equal(t, "--- PASS: p TestSlow (12.50s)\nok   p 12.7s\n", log.String(), "only slow tests are named")
	doc := c.Report("r")
	require.Equal(t, 2, doc.Tests)
	require.Zero(t, doc.Failures)
}
