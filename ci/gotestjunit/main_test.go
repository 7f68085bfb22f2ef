package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	in, err := os.ReadFile("../testreport/testdata/sample.jsonl")
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "reports", "junit.xml")
	var log bytes.Buffer
	require.Equal(t, 1, run(bytes.NewReader(in), &log, out, time.Second), "failed tests make the exit status 1")
	require.Contains(t, log.String(), "gotestjunit: 7 tests, 4 failed, 1 skipped in 4 packages: "+out)
	data, err := os.ReadFile(out)
	require.NoError(t, err, "the report is written even when tests failed")
	require.Contains(t, string(data), `<testsuites name="go test" tests="7" failures="4"`)

	pass := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}
{"Action":"pass","Package":"p","Elapsed":0.2}
`
	require.Equal(t, 0, run(strings.NewReader(pass), &log, out, time.Second))
}
