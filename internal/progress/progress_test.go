package progress

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, Text).With("instance", "prod")
	l.Info("built package", "path", "out/prod/invenio-web_1.0-1_all.deb")
	l.Warn("no signing key given")
	lines := bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	assert.Regexp(t, `^\[ +\d+\.\ds\] built package instance=prod path=out/prod/invenio-web_1.0-1_all.deb$`, string(lines[0]))
	assert.Regexp(t, `^\[ +\d+\.\ds\] warn: no signing key given instance=prod$`, string(lines[1]))
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	New(&b, JSON).Info("built package", "instance", "dev", "size", 4096)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &ev))
	assert.Equal(t, "built package", ev["msg"])
	assert.Equal(t, "dev", ev["instance"])
	assert.EqualValues(t, 4096, ev["size"])
}

func TestParseFormat(t *testing.T) {
	f, err := ParseFormat("json")
	require.NoError(t, err)
	assert.Equal(t, JSON, f)
	_, err = ParseFormat("yaml")
	assert.ErrorContains(t, err, "use text or json")
}
