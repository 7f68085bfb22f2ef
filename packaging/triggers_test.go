package packaging

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBuildTriggers checks TriggerPaths become DEBIAN/triggers file
// triggers that make the triggering package wait (interest-await), and
// that a package without them ships no triggers file.
func TestBuildTriggers(t *testing.T) {
	s := testSpec()
	_, control, _ := readDeb(t, build(t, s, testOptions()))
	assert.NotContains(t, control, "./triggers")

	s.TriggerPaths = []string{"/opt/invenio/venv"}
	s.Maint.Triggered = []string{"echo triggered"}
	_, control, _ = readDeb(t, build(t, s, testOptions()))
	assert.Equal(t, "interest-await /opt/invenio/venv\n", string(control["./triggers"].Body))
	assert.Contains(t, string(control["./postinst"].Body), "if [ \"$1\" = \"triggered\" ]; then\necho triggered\nfi\n")
}
