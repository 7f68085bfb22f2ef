package site

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/golden"
)

// badCases are the mistakes the bad corpus must cover, one file each.
var badCases = []string{
	"empty", "comments-only", "binary-nul", "invalid-utf8", "utf16",
	"syntax-error", "tab-indent", "unclosed-list", "multiple-documents", "top-level-list",
	"unknown-key", "unknown-key-nested", "unknown-key-no-suggestion",
	"wrong-type-int", "wrong-type-list", "wrong-type-scalar-list", "wrong-type-bool",
	"wrong-type-mapping", "wrong-type-string", "duplicate-key", "bad-merge", "alias-cycle",
	"duplicate-instance", "duplicate-host", "duplicate-address", "duplicate-url", "invalid-address",
	"no-web-host", "no-services-host", "two-services-hosts", "no-beat-host", "two-beat-hosts", "beat-not-web",
	"unknown-role", "bad-instance-url", "bad-repository-url", "bad-names",
	"unknown-engine", "search-apt-and-deb", "apt-source-incomplete", "search-deb-not-deb",
	"storage-no-source", "storage-relative-mountpoint", "storage-unknown-type", "storage-none-with-source",
	"storage-source-and-server", "storage-unknown-server", "storage-export-without-server", "storage-server-not-nfs",
	"storage-relative-export", "storage-none-with-server", "storage-server-on-web-host",
	"sizing-zero", "bad-sizes", "bad-redis-policy", "bad-smarthost",
	"tls-relative", "tls-missing", "application-paths", "application-modules", "bad-maintainer",
	"missing-instances", "missing-fields", "empty-values", "many-errors", "bad-network", "bad-access", "bad-drain",
}

func TestBadCorpusIsComplete(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	assert.ElementsMatch(t, badCases, names)
}

func TestBadCorpus(t *testing.T) {
	for _, name := range badCases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata/bad", name+".yaml")
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			s, err := Parse(name+".yaml", data)
			require.Error(t, err)
			assert.Nil(t, s)
			var errs Errors
			require.True(t, errors.As(err, &errs), "want Errors, got %T", err)
			require.NotEmpty(t, errs)
			for _, e := range errs {
				assert.Equal(t, name+".yaml", e.File)
				assert.GreaterOrEqual(t, e.Line, 1, e.Error())
				assert.GreaterOrEqual(t, e.Col, 1, e.Error())
				assert.NotEmpty(t, e.Hint, "error without a hint: %s", e.Error())
				assert.NotEmpty(t, e.Msg)
			}
			assert.True(t, isSorted(errs), "errors are not sorted by position:\n%s", err)
			golden.Assert(t, filepath.Join("testdata/bad", name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

// isSorted reports whether errs are in file order.
func isSorted(errs Errors) bool {
	for i := 1; i < len(errs); i++ {
		a, b := errs[i-1], errs[i]
		if a.Line > b.Line || a.Line == b.Line && a.Col > b.Col {
			return false
		}
	}
	return true
}

func TestGoodCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := Load(file)
			require.NoError(t, err)
			// The golden file is the completed site: it shows every default.
			out, err := yaml.Marshal(s)
			require.NoError(t, err)
			golden.Assert(t, strings.TrimSuffix(file, ".yaml")+".golden", out)
			// What Parse produces, Parse takes back unchanged.
			again, err := Parse("again.yaml", out)
			require.NoError(t, err)
			again.src, s.src = nil, nil
			assert.Equal(t, s, again)
		})
	}
}

func TestDefault(t *testing.T) {
	s := Default()
	require.NotNil(t, s)
	assert.Equal(t, "tugraz", s.Name)
	require.Len(t, s.Instances, 3)
	for _, in := range s.Instances {
		assert.Equal(t, DefaultSuite, in.Suite, in.Name)
		assert.Empty(t, in.Mirror, "%s: the default site names no mirror, and Load reads none from the build host", in.Name)
		assert.True(t, in.BeatHost().Has(RoleWeb), in.Name)
		assert.NotEmpty(t, in.Services().Name, in.Name)
	}
	dev, ok := s.Instance("dev")
	require.True(t, ok)
	assert.Len(t, dev.Hosts, 1)
	prod, ok := s.Instance("prod")
	require.True(t, ok)
	assert.Len(t, prod.HostsWith(RoleWeb), 2)
	assert.Equal(t, "invenio03-prod", prod.Services().Name)

	// The dev instance overrides part of the site's sizing.
	z := s.EffectiveSizing(dev)
	assert.Equal(t, 2, z.UI.Processes)
	assert.Equal(t, "512MB", z.PostgreSQL.SharedBuffers)
	assert.Equal(t, "16MB", z.PostgreSQL.WorkMem, "not overridden: the site's value")
	assert.Equal(t, "volatile-lru", z.Redis.Policy)
	assert.Equal(t, 4, s.EffectiveSizing(prod).UI.Processes)
}

func TestDefaultYAML(t *testing.T) {
	data := DefaultYAML()
	assert.Contains(t, string(data), "# invenio-infra site file")
	data[0] = 'X'
	assert.Equal(t, byte('#'), DefaultYAML()[0], "DefaultYAML must return a copy")
	_, err := Parse("site.yaml", DefaultYAML())
	require.NoError(t, err)
}

func TestDefaultsApplyOnlyToUnwrittenKeys(t *testing.T) {
	s, err := Load("testdata/good/minimal.yaml")
	require.NoError(t, err)
	assert.Equal(t, defaultApplication, s.Application)
	assert.Equal(t, defaultSizing, s.Sizing)
	assert.Equal(t, OpenSearch, s.Search.Engine)
	assert.Equal(t, "example", s.Search.ClusterName, "cluster_name defaults to the site name")
	assert.Equal(t, StorageNone, s.Storage.Type)
	assert.Equal(t, DefaultMountpoint, s.Storage.Mountpoint)
	assert.Equal(t, "bookworm", s.Instances[0].Suite)
	assert.Empty(t, s.Instances[0].Mirror, "Load reads no mirror from the build host")
	assert.Nil(t, s.Instances[0].Sizing)
}

// TestLoadIgnoresHostMirror checks that a site loads the same whatever the
// build host's apt sources: its instances' mirrors are what the file says.
func TestLoadIgnoresHostMirror(t *testing.T) {
	s, err := Load("testdata/good/full.yaml")
	require.NoError(t, err)
	assert.Equal(t, "http://mirror.example.org/debian", s.Instances[0].Mirror, "written in the file")
	assert.Empty(t, s.Instances[1].Mirror, "not written: left to whoever bakes")
}

func TestSearchAptComponentsDefault(t *testing.T) {
	data, err := os.ReadFile("testdata/good/full.yaml")
	require.NoError(t, err)
	src := strings.Replace(string(data), "    components: [main]\n", "", 1)
	s, err := Parse("full.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, []string{"main"}, s.Search.Apt.Components)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "reading site file")
}

func TestErrorAt(t *testing.T) {
	s, err := Load("testdata/good/minimal.yaml")
	require.NoError(t, err)
	e := s.ErrorAt("instances[0].hosts[0].address", "use another", "address %s is taken", "192.0.2.10")
	assert.Equal(t, "testdata/good/minimal.yaml:14:18: address 192.0.2.10 is taken\n\thint: use another", e.Error())
	// A field the file leaves out points at the nearest node it has.
	e = s.ErrorAt("instances[0].suite", "", "no")
	assert.Equal(t, "testdata/good/minimal.yaml:9:5: no", e.Error())
	// A site built in code has no positions.
	assert.Equal(t, "no", (&Site{}).ErrorAt("name", "", "no").Error())
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "s.yaml", Line: 3, Col: 7, Msg: "bad", Hint: "good"}
	assert.Equal(t, "s.yaml:3:7: bad\n\thint: good", e.Error())
	e.Hint = ""
	assert.Equal(t, "s.yaml:3:7: bad", e.Error())
	es := Errors{e, {File: "s.yaml", Line: 4, Col: 1, Msg: "worse", Hint: "better"}}
	assert.Equal(t, "s.yaml:3:7: bad\ns.yaml:4:1: worse\n\thint: better", es.Error())
	var target *Error
	require.True(t, errors.As(error(es), &target))
	assert.Equal(t, "bad", target.Msg)
	assert.NoError(t, Errors(nil).err())
}

func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		name, data string
		line, col  int
	}{
		{"unclosed quote", "name: x\nmaintainer: \"Team <t@example.org>\nmail: {}\ntls: {}\ninstances: []\n", 2, 1},
		{"unclosed flow list", "name: x\nmail: {}\ninstances: [a, b\ntls: {}\n", 3, 1},
		{"unclosed flow mapping", "name: x\nmail: {smarthost: a\n\ntls: {}\n", 2, 1},
		{"bad indentation", "name: x\nmail:\n  smarthost: a\n sender_domain: b\ntls: {}\n", 4, 1},
		{"colon in value", "name: x\nmail:\n  smarthost: smtp: a\n", 3, 1},
		{"tab", "name: x\nmail:\n  \tsmarthost: a\n", 3, 3},
		{"undefined alias", "name: x\nmail: *m\n", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tt.data))
			var errs Errors
			require.True(t, errors.As(err, &errs), "%v", err)
			require.Len(t, errs, 1)
			assert.Equal(t, tt.line, errs[0].Line, errs[0].Error())
			assert.Equal(t, tt.col, errs[0].Col, errs[0].Error())
			assert.NotEmpty(t, errs[0].Hint)
		})
	}
}
