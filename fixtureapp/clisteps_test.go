package fixtureapp_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/fixtureapp"
)

// cliSteps is the program invenio-web ships as invenio_cli_steps.py.
const cliSteps = "../roles/templates/invenio_cli_steps.py"

// TestCLIStepsInOneProcess runs invenio-setup's step runner against the
// fixture's invenio command as installed (its console_scripts and
// flask.commands entry points): each command's exit status is the one its
// console script would have had (0; click's 2 for an unknown command or a
// bad option; 1 and the traceback for an exception, here alembic current
// without a database), a failed command does not end the process, and the
// output is the commands' own.
func TestCLIStepsInOneProcess(t *testing.T) {
	needPython(t)
	site := sitePackages(t, fixtureapp.Release1, false)
	results, write, err := os.Pipe()
	require.NoError(t, err)
	defer results.Close()
	cmd := python(site, nil, cliSteps, "3")
	cmd.ExtraFiles = []*os.File{write}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	// A file, not a buffer: nothing copies the output while the test reads it.
	out, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	require.NoError(t, write.Close())

	// One step at a time, as invenio-setup asks: the answer comes before
	// the next step is written.
	scan := bufio.NewScanner(results)
	var statuses []int
	for _, step := range [][]string{{"alembic", "heads"}, {"no-such-command"}, {"alembic", "heads", "--bogus"}, {"alembic", "current"}, {"alembic", "heads"}} {
		line, err := json.Marshal(step)
		require.NoError(t, err)
		_, err = stdin.Write(append(line, '\n'))
		require.NoError(t, err)
		require.True(t, scan.Scan(), "no answer to %v: %v\n%s", step, scan.Err(), output(t, out))
		var r struct{ Status int }
		require.NoError(t, json.Unmarshal(scan.Bytes(), &r), scan.Text())
		statuses = append(statuses, r.Status)
	}
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), output(t, out))
	assert.False(t, scan.Scan(), "nothing more after the end of the input")
	text := output(t, out)
	assert.Equal(t, []int{0, 2, 2, 1, 0}, statuses, text)
	heads := fixtureapp.Release1.Revisions()[len(fixtureapp.Release1.Revisions())-1]
	assert.Equal(t, 2, strings.Count(text, heads+"\n"), "both runs of alembic heads printed the head:\n%s", text)
	assert.Contains(t, text, "No such command 'no-such-command'")
	assert.Contains(t, text, "No such option: --bogus")
	assert.Contains(t, text, "Traceback (most recent call last)", "alembic current without a database raises")
}

// output returns what the runner wrote so far.
func output(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	return string(b)
}

// TestCLIStepsUsage refuses a call without the results' descriptor.
func TestCLIStepsUsage(t *testing.T) {
	needPython(t)
	out, err := python(t.TempDir(), nil, cliSteps).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "usage: invenio_cli_steps.py FD")
}

// setupCommands is as many commands as invenio-setup runs for a set-up
// (alembic heads stands in for each: it needs no database, so the figure
// is what loading the application costs, not what the commands do).
const setupCommands = 12

// BenchmarkSetupCommands compares the two ways invenio-setup could run a
// set-up's commands: the invenio console script once per command (as
// before invenio_cli_steps.py) and every command in one process. The
// difference is the application's import and creation per command; under
// TCG every second here is ten or more.
func BenchmarkSetupCommands(b *testing.B) {
	needPython(b)
	site := sitePackages(b, fixtureapp.Release1, false)
	b.Run("a-process-each", func(b *testing.B) {
		for b.Loop() {
			for range setupCommands {
				cmd := python(site, nil, "-c", "import sys; from invenio_app.cli import cli; sys.exit(cli())", "alembic", "heads")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("invenio alembic heads: %v\n%s", err, out)
				}
			}
		}
	})
	b.Run("one-process", func(b *testing.B) {
		var in strings.Builder
		for range setupCommands {
			in.WriteString(`["alembic", "heads"]` + "\n")
		}
		for b.Loop() {
			results, write, err := os.Pipe()
			require.NoError(b, err)
			cmd := python(site, nil, cliSteps, "3")
			cmd.ExtraFiles = []*os.File{write}
			cmd.Stdin = strings.NewReader(in.String())
			out, err := cmd.CombinedOutput()
			write.Close()
			require.NoError(b, err, string(out))
			got, err := io.ReadAll(results)
			results.Close()
			require.NoError(b, err)
			require.Equal(b, setupCommands, strings.Count(string(got), `{"status": 0}`), string(out))
		}
	})
}
