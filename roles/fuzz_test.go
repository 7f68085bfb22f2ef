package roles_test

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// fuzzEpoch dates the packages the fuzz test builds.
var fuzzEpoch = time.Unix(1767225600, 0).UTC()

// Mutations of FuzzRender: none (the document as it is), a scalar set to
// the string, a scalar set to the number, the string appended to a list.
const (
	opNone = iota
	opString
	opNumber
	opAppend
	opCount
)

// FuzzRender mutates one value of a site file (the default site's, unless
// the input has a document of its own): a string, a number, or an item
// added to a list. For every mutation that validates, it renders every
// host's packages and reads them back with each syntax's rules: unit files
// set no key the unmutated renders lack, scripts pass sh -n and run no
// command they lack, invenio.env sourced by a clean sh defines exactly the
// variables it assigns with the site's values and runs nothing, NGINX's
// site has no new directive and passes nginx -t, and control files have
// the same fields. Seeds: the bad corpus and the hostile shapes of site.
func FuzzRender(f *testing.F) {
	for _, pattern := range []string{"../site/testdata/bad/*.yaml", "../site/testdata/hostile/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, uint8(opNone), uint16(0), "", int64(0))
		}
	}
	for i, v := range []string{
		"$(id)", "`id`", "a\nExecStartPre=+/bin/sh", "x'y\"z", "%n%h", "/", "/etc", "a b", "\\", "${HOME}",
		"TRUE", "[1]", "b'x'", "a;b", "#", strings.Repeat("x", 2000), "127.0.0.1", "::1", "INVENIO.example.org",
	} {
		f.Add([]byte{}, uint8(opString), uint16(i*7), v, int64(0))
		f.Add([]byte{}, uint8(opAppend), uint16(i), v, int64(0))
	}
	f.Add([]byte{}, uint8(opNumber), uint16(30), "", int64(1)<<62)
	f.Add([]byte{}, uint8(opNumber), uint16(31), "", int64(-1))
	base := newBaseline(f)
	f.Fuzz(func(t *testing.T, doc []byte, op uint8, pick uint16, value string, n int64) {
		if len(doc) == 0 {
			doc = site.DefaultYAML()
		}
		doc = mutate(doc, op%opCount, int(pick), value, n)
		if doc == nil {
			return
		}
		s, err := site.Parse("fuzz.yaml", doc)
		if err != nil {
			return
		}
		base.check(t, s, true)
	})
}

// mutate returns doc with one value changed, or nil if doc is not YAML or
// has nothing to change.
func mutate(doc []byte, op uint8, pick int, value string, n int64) []byte {
	if op == opNone {
		return doc
	}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil
	}
	var scalars, seqs []*yaml.Node
	collectNodes(&root, &scalars, &seqs)
	switch {
	case op == opAppend && len(seqs) > 0:
		seq := seqs[pick%len(seqs)]
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: yaml.DoubleQuotedStyle})
	case op == opString && len(scalars) > 0:
		sc := scalars[pick%len(scalars)]
		sc.Tag, sc.Value, sc.Style = "!!str", value, yaml.DoubleQuotedStyle
	case op == opNumber && len(scalars) > 0:
		sc := scalars[pick%len(scalars)]
		sc.Tag, sc.Value, sc.Style = "!!int", strconv.FormatInt(n, 10), 0
	default:
		return nil
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		return nil
	}
	return out
}

// collectNodes gathers the value scalars (not mapping keys) and the
// sequences below n, following no alias.
func collectNodes(n *yaml.Node, scalars, seqs *[]*yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectNodes(c, scalars, seqs)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			collectNodes(n.Content[i], scalars, seqs)
		}
	case yaml.SequenceNode:
		*seqs = append(*seqs, n)
		for _, c := range n.Content {
			collectNodes(c, scalars, seqs)
		}
	case yaml.ScalarNode:
		*scalars = append(*scalars, n)
	}
}

// baseline is what the renders of the unmutated sites hold, by output kind.
type baseline struct {
	units, cmds, nginx map[string]map[string]bool
	control            map[string]string // package → its sorted control fields
	dir                string            // the test certificate, uwsgi_params
	nginxOK            bool              // nginx is installed

	mu   sync.Mutex
	good map[[32]byte]bool // outputs and specs already checked
}

// newBaseline renders the default site and variants of it that switch on
// what the default leaves off (NFS from the services host, no storage, the
// search engine's apt source, the jobs scheduler).
func newBaseline(f testing.TB) *baseline {
	b := &baseline{
		units: map[string]map[string]bool{}, cmds: map[string]map[string]bool{}, nginx: map[string]map[string]bool{},
		control: map[string]string{}, dir: f.TempDir(), good: map[[32]byte]bool{},
	}
	boot, err := site.Load(bootTestSiteFile)
	if err != nil {
		f.Fatal(err)
	}
	none, extras := site.Default(), site.Default()
	none.Storage = site.Storage{Type: site.StorageNone}
	extras.Search.Apt = &site.AptSource{URL: "https://artifacts.example.org/apt", Suite: "stable", Components: []string{"main"}, Key: "/etc/k.asc"}
	extras.Application.JobsScheduler = "invenio_jobs.services.scheduler:RunScheduler"
	for _, s := range []*site.Site{site.Default(), boot, none, extras} {
		b.add(f, s)
	}
	writeSelfSigned(f, b.dir, "/cert.pem", "/key.pem")
	if _, err := exec.LookPath("nginx"); err == nil {
		if params, err := os.ReadFile("/etc/nginx/uwsgi_params"); err == nil {
			b.nginxOK = os.WriteFile(filepath.Join(b.dir, "uwsgi_params"), params, 0o644) == nil
		}
	}
	return b
}

// add records what s renders.
func (b *baseline) add(f testing.TB, s *site.Site) {
	union := func(m map[string]map[string]bool, kind string, keys map[string]bool) {
		if m[kind] == nil {
			m[kind] = map[string]bool{}
		}
		for k := range keys {
			m[kind][k] = true
		}
	}
	for _, o := range siteOutputs(s) {
		switch {
		case o.isUnit():
			keys, err := unitKeys(o.body)
			if err != nil {
				f.Fatalf("%s: %v", o.path, err)
			}
			union(b.units, o.kind(), keys)
		case o.isScript():
			union(b.cmds, o.kind(), scriptCommands(o.body))
		case o.path == nginxSite:
			dirs, err := nginxDirectives(o.body)
			if err != nil {
				f.Fatalf("%s: %v", o.path, err)
			}
			union(b.nginx, o.kind(), dirs)
		}
	}
	for _, in := range s.Instances {
		for _, sp := range roles.Plan(s, in) {
			fields, err := controlFields(sp)
			if err != nil {
				f.Fatalf("%s: %v", sp.Name, err)
			}
			b.control[sp.Name] = strings.Join(fields, " ")
		}
	}
}

const (
	nginxSite  = "/etc/nginx/sites-available/invenio"
	nginxUWSGI = "/etc/nginx/snippets/invenio-uwsgi.conf"
	envFile    = "/etc/invenio/invenio.env"
	eximFile   = "/etc/invenio/exim4.conf"
)

// seen reports whether key was checked before, and records it.
func (b *baseline) seen(parts ...string) bool {
	key := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.good[key] {
		return true
	}
	if len(b.good) > 100000 {
		b.good = map[[32]byte]bool{}
	}
	b.good[key] = true
	return false
}

// check reads every output of s back and fails t for anything a value
// added to the syntax of a file; with values, it also checks that
// invenio.env holds the site's values.
func (b *baseline) check(t *testing.T, s *site.Site, values bool) {
	dir := t.TempDir()
	for _, o := range siteOutputs(s) {
		if b.seen(o.kind(), o.body, o.in.Name) {
			continue
		}
		b.checkOutput(t, s, o, dir, values)
	}
	for _, in := range s.Instances {
		for _, sp := range roles.Plan(s, in) {
			b.checkControl(t, sp, values)
		}
	}
}

// checkOutput checks one output by its syntax.
func (b *baseline) checkOutput(t *testing.T, s *site.Site, o output, dir string, values bool) {
	switch {
	case o.isUnit():
		keys, err := unitKeys(o.body)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", o.in.Name, o.path, err, o.body)
		}
		if b.units[o.kind()] == nil {
			t.Fatalf("%s %s: a unit the unmutated sites do not have", o.in.Name, o.path)
		}
		if extra := missing(keys, b.units[o.kind()]); len(extra) > 0 {
			t.Fatalf("%s %s: keys the unmutated renders lack: %v\n%s", o.in.Name, o.path, extra, o.body)
		}
	case o.isScript():
		if err := shellSyntax(o.body); err != nil {
			t.Fatalf("%s %s: %v\n%s", o.in.Name, o.path, err, o.body)
		}
		if extra := missing(scriptCommands(o.body), b.cmds[o.kind()]); len(extra) > 0 {
			t.Fatalf("%s %s: commands the unmutated renders lack: %q\n%s", o.in.Name, o.path, extra, o.body)
		}
	case o.path == envFile:
		b.checkEnv(t, s, o, dir, values)
	case o.path == eximFile:
		vars, err := sourced(dir, o.body)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", o.in.Name, o.path, err, o.body)
		}
		if extra := missing(keySet(vars), assignedNames(o.body)); len(extra) > 0 {
			t.Fatalf("%s %s: sourcing defines %v, which it does not assign", o.in.Name, o.path, extra)
		}
	case o.path == nginxSite:
		b.checkNginx(t, s, o, dir)
	}
}

// checkEnv sources invenio.env after a secrets file as invenio-run does
// and compares the variables with what the site says.
func (b *baseline) checkEnv(t *testing.T, s *site.Site, o output, dir string, values bool) {
	var secrets strings.Builder
	for _, k := range roles.SecretKeys() {
		secrets.WriteString(k + "=secret0123456789abcdef\n")
	}
	vars, err := sourced(dir, secrets.String(), o.body)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", o.in.Name, o.path, err, o.body)
	}
	want := assignedNames(o.body)
	for _, k := range roles.SecretKeys() {
		want[k] = true
	}
	if extra, lack := missing(keySet(vars), want), missing(want, keySet(vars)); len(extra)+len(lack) > 0 {
		t.Fatalf("%s %s: sourcing defines %v besides and lacks %v\n%s", o.in.Name, o.path, extra, lack, o.body)
	}
	if !values {
		return
	}
	c := roles.NewContext(s, o.in)
	expect := map[string]string{
		"INVENIO_SITE_UI_URL":         c.URL(),
		"INVENIO_SITE_HOSTNAME":       c.Hostname(),
		"INVENIO_SEARCH_INDEX_PREFIX": o.in.Name + "-",
		"INVENIO_MAIL_DEFAULT_SENDER": "noreply@" + s.Mail.SenderDomain,
	}
	if _, ok := vars["INVENIO_FILES_LOCATION_URI"]; ok {
		t.Fatalf("%s: invenio.env sets INVENIO_FILES_LOCATION_URI, which InvenioRDM never reads (the files location is a database row)", o.in.Name)
	}
	if got := vars["INVENIO_INSTANCE_PATH"]; got != s.Application.InstancePath {
		t.Fatalf("%s: INVENIO_INSTANCE_PATH is %q, which invenio-base reads raw; want %q", o.in.Name, got, s.Application.InstancePath)
	}
	for k, v := range expect {
		if got := pyValue(vars[k]); got != v {
			t.Fatalf("%s: %s reads as %q (raw %q); want %q", o.in.Name, k, got, vars[k], v)
		}
	}
}

// checkNginx compares the site's directives with the unmutated ones' and
// runs nginx -t on it, with the test certificate where the site names its
// own.
func (b *baseline) checkNginx(t *testing.T, s *site.Site, o output, dir string) {
	dirs, err := nginxDirectives(o.body)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", o.in.Name, o.path, err, o.body)
	}
	if extra := missing(dirs, b.nginx[o.kind()]); len(extra) > 0 {
		t.Fatalf("%s %s: directives the unmutated renders lack: %v\n%s", o.in.Name, o.path, extra, o.body)
	}
	if !b.nginxOK {
		return
	}
	cert, err1 := escape.Nginx(s.TLS.Certificate)
	key, err2 := escape.Nginx(s.TLS.Key)
	if err1 != nil || err2 != nil {
		t.Fatalf("the site's TLS paths validate but NGINX cannot hold them: %v %v", err1, err2)
	}
	conf := strings.NewReplacer(
		"ssl_certificate "+cert+";", "ssl_certificate "+filepath.Join(b.dir, "cert.pem")+";",
		"ssl_certificate_key "+key+";", "ssl_certificate_key "+filepath.Join(b.dir, "key.pem")+";",
		"include "+nginxUWSGI+";", "include "+filepath.Join(b.dir, "uwsgi_params")+";",
	).Replace(o.body)
	site := filepath.Join(dir, "site.conf")
	main := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(site, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	top := "pid " + filepath.Join(dir, "nginx.pid") + ";\nevents {}\nhttp {\n include " + site + ";\n}\n"
	if err := os.WriteFile(main, []byte(top), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nginx", "-t", "-q", "-e", "stderr", "-p", dir, "-c", main).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: nginx -t: %v: %s\n%s", o.in.Name, o.path, err, out, o.body)
	}
}

// checkControl builds a package whose control fields the unmutated sites
// did not have and compares its field names with the package's there.
// Without values (a site that did not validate), a package that packaging
// refuses to build is a refusal (a panic of refused), not a failure.
func (b *baseline) checkControl(t *testing.T, sp packaging.Spec, values bool) {
	if b.seen("control", sp.Name, sp.Maintainer, sp.Homepage, sp.Description, strings.Join(packaging.RelationStrings(sp.Depends), ",")) {
		return
	}
	fields, err := controlFields(sp)
	if err != nil && !values {
		panic(refused{err})
	}
	if err != nil {
		t.Fatalf("package %s: %v", sp.Name, err)
	}
	want, ok := b.control[sp.Name]
	if !ok {
		t.Fatalf("package %s: the unmutated sites have no such package", sp.Name)
	}
	if got := strings.Join(fields, " "); got != want {
		t.Fatalf("package %s: control fields %s; want %s", sp.Name, got, want)
	}
}

// refused is a value an escaper or packaging refused.
type refused struct{ error }

func keySet(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// TestEscapingAloneStopsInjection renders the default site with hostile
// values that validation would refuse, put in behind its back: the
// escapers alone must keep every output's syntax, or refuse to render
// (a panic, since validation should have caught the value).
func TestEscapingAloneStopsInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("renders and reads back 110 sites (half a minute)")
	}
	base := newBaseline(t)
	setters := map[string]func(*site.Site, string){
		"virtualenv":     func(s *site.Site, v string) { s.Application.Virtualenv = "/opt/" + v },
		"instance_path":  func(s *site.Site, v string) { s.Application.InstancePath = "/opt/" + v },
		"mountpoint":     func(s *site.Site, v string) { s.Storage.Mountpoint = "/srv/" + v },
		"export":         func(s *site.Site, v string) { *s = *nfsServed(t); s.Storage.Export = "/srv/" + v },
		"storage source": func(s *site.Site, v string) { s.Storage.Source = "mon:/" + v },
		"mount option":   func(s *site.Site, v string) { s.Storage.Options = append(s.Storage.Options, v) },
		"certificate":    func(s *site.Site, v string) { s.TLS.Certificate = "/etc/ssl/" + v },
		"maintainer":     func(s *site.Site, v string) { s.Maintainer = "Team " + v + " <t@example.org>" },
		"cluster name":   func(s *site.Site, v string) { s.Search.ClusterName = v },
		"sender domain":  func(s *site.Site, v string) { s.Mail.SenderDomain = v },
		"smarthost":      func(s *site.Site, v string) { s.Mail.Smarthost = v },
	}
	values := []string{"x\nExecStartPre=+/bin/sh", "$(id)", "`id`", "x';id;'", "a b", "%n", `x"y\`, "x;include /etc/passwd", "#x", "${HOME}"}
	rendered, refused := 0, 0
	for name, set := range setters {
		for _, v := range values {
			s := site.Default()
			set(s, v)
			func() {
				defer func() {
					if r := recover(); r != nil {
						refused++
					}
				}()
				base.check(t, s, false)
				rendered++
			}()
			if t.Failed() {
				t.Fatalf("%s = %q got through", name, v)
			}
		}
	}
	t.Logf("%d hostile sites rendered safely, %d refused by an escaper", rendered, refused)
	if rendered == 0 {
		t.Fatal("no hostile site rendered: the test checks nothing")
	}
}

// nfsServed returns the boot tests' site, whose services host serves the
// storage over NFS.
func nfsServed(t *testing.T) *site.Site {
	s, err := site.Load(bootTestSiteFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
