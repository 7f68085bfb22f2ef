package boottest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/roles"
	"gitlab.tugraz.at/invenio/invenio-infra/roles/changes"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// upgradePlan is what `invenio-infra diff` says release N+1 changes on
// each host, and the rendered files of both releases.
type upgradePlan struct {
	report changes.Report
	// from and to are the rendered trees' instance directories
	// (HOST/PATH below them).
	from, to string
	// paths are, per host, every path either release installs.
	paths map[string][]string
}

// planUpgrade renders both releases of the instance into work and
// compares them as `invenio-infra diff --from N --to N+1` does.
func planUpgrade(work string, from, to *site.Site, instance, fromVersion, toVersion string) (upgradePlan, error) {
	p := upgradePlan{paths: map[string][]string{}}
	var rels []changes.Release
	for _, side := range []struct {
		name, version string
		site          *site.Site
	}{{"release N", fromVersion, from}, {"release N+1", toVersion, to}} {
		in, ok := side.site.Instance(instance)
		if !ok {
			return p, fmt.Errorf("%s's site has no instance %s", side.name, instance)
		}
		dir := filepath.Join(work, "render", strings.ReplaceAll(side.name, " ", "-"))
		if _, err := roles.WriteTree(dir, side.site, []site.Instance{in}); err != nil {
			return p, fmt.Errorf("rendering %s: %w", side.name, err)
		}
		rels = append(rels, changes.Release{Name: side.name + " (" + side.version + ")", Dir: dir, Version: side.version})
	}
	p.from, p.to = filepath.Join(rels[0].Dir, instance), filepath.Join(rels[1].Dir, instance)
	var err error
	if p.report, err = changes.Compare(rels[0], rels[1], instance); err != nil {
		return p, err
	}
	for _, h := range p.report.Hosts {
		for _, dir := range []string{p.from, p.to} {
			paths, err := treePaths(filepath.Join(dir, h.Host))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return p, err
			}
			p.paths[h.Host] = append(p.paths[h.Host], paths...)
		}
		slices.Sort(p.paths[h.Host])
		p.paths[h.Host] = slices.Compact(p.paths[h.Host])
	}
	return p, nil
}

// treePaths lists the files below root as absolute paths on the host.
func treePaths(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, "/"+filepath.ToSlash(rel))
		return err
	})
	return out, err
}

// hostReport is the report's part for host.
func (p upgradePlan) hostReport(host string) changes.HostReport {
	for _, h := range p.report.Hosts {
		if h.Host == host {
			return h
		}
	}
	return changes.HostReport{Host: host}
}

// rendered is the sha256 of path in a rendered host tree; "" when the
// release does not install it.
func rendered(dir, host, path string) string {
	data, err := os.ReadFile(filepath.Join(dir, host, filepath.FromSlash(path)))
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// adminEdit is the administrator's edit of one conffile before the upgrade.
type adminEdit struct {
	Host, Path, Line string
}

// editConffile appends a comment to a conffile that release N+1 changes
// on the first web host, as an administrator's local edit.
func (t *Test) editConffile(ctx context.Context, p upgradePlan, out io.Writer) (adminEdit, error) {
	g := t.webGuests()[0]
	e := adminEdit{Host: g.Host.Name, Line: "# " + marker("admin-edit") + ": a local change by the administrator"}
	for _, f := range p.hostReport(g.Host.Name).Files {
		if f.Status == changes.Changed && strings.HasPrefix(f.Path, "/etc/") && !strings.HasSuffix(f.Path, ".json") {
			e.Path = f.Path
			break
		}
	}
	if e.Path == "" {
		return e, fmt.Errorf("release N+1 changes no conffile on %s that takes # comments: nothing to show dpkg keeping an administrator's edit", g.Host.Name)
	}
	if _, err := g.run(ctx, "printf '%s\\n' "+escape.Shell(e.Line)+" >> "+escape.Shell(e.Path)); err != nil {
		return e, fmt.Errorf("editing %s on %s: %w", e.Path, g.Host.Name, err)
	}
	fmt.Fprintf(out, "the administrator edited %s on %s (a line appended), which release N+1 changes\n", e.Path, g.Host.Name)
	return e, nil
}

// hashHosts returns, per host, the sha256 of every path either release
// installs there (absent: not on the host) and of every .dpkg-dist,
// .dpkg-old and .dpkg-new file below /etc.
func (t *Test) hashHosts(ctx context.Context, p upgradePlan) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, g := range t.guests {
		var args []string
		for _, path := range p.paths[g.Host.Name] {
			args = append(args, escape.Shell(path))
		}
		cmd := "cd / && { sha256sum -- " + strings.Join(args, " ") + " 2>/dev/null; " +
			"find /etc -xdev -type f \\( -name '*.dpkg-dist' -o -name '*.dpkg-old' -o -name '*.dpkg-new' \\) -exec sha256sum -- {} +; } || true"
		sums, err := g.run(ctx, cmd)
		if err != nil {
			return nil, fmt.Errorf("hashing files on %s: %w", g.Host.Name, err)
		}
		out[g.Host.Name] = parseSums(sums)
	}
	return out, nil
}

// parseSums reads sha256sum's "HASH  PATH" lines.
func parseSums(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		sum, path, ok := strings.Cut(line, "  ")
		if ok && len(sum) == 64 {
			m[path] = sum
		}
	}
	return m
}

// dpkgLeftovers lists the .dpkg-* files among a host's hashes.
func dpkgLeftovers(sums map[string]string) []string {
	var out []string
	for p := range sums {
		if strings.HasSuffix(p, ".dpkg-dist") || strings.HasSuffix(p, ".dpkg-old") || strings.HasSuffix(p, ".dpkg-new") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// confoldCheck checks the administrator's edit survived the upgrade and
// the package's new version of the file lies beside it as .dpkg-dist.
func (t *Test) confoldCheck(r *rolling) check {
	return func(ctx context.Context, out io.Writer) error {
		if err := r.notRan(); err != nil {
			return err
		}
		e := r.edit
		before, after := r.before[e.Host], r.after[e.Host]
		dist := e.Path + ".dpkg-dist"
		want := rendered(r.plan.to, e.Host, e.Path)
		var g *guest
		for _, x := range t.guests {
			if x.Host.Name == e.Host {
				g = x
			}
		}
		if d, err := g.run(ctx, "diff -u "+escape.Shell(dist)+" "+escape.Shell(e.Path)+" || true"); err == nil {
			fmt.Fprintf(out, "diff -u %s %s on %s:\n%s", dist, e.Path, e.Host, tail(d, 30))
		}
		switch {
		case after[e.Path] == "":
			return fmt.Errorf("%s is gone from %s after the upgrade", e.Path, e.Host)
		case after[e.Path] != before[e.Path]:
			return fmt.Errorf("%s on %s changed in the upgrade: the administrator's edit was not kept", e.Path, e.Host)
		case after[dist] == "":
			return fmt.Errorf("no %s on %s: dpkg did not keep release N+1's version beside the edited file", dist, e.Host)
		case after[dist] != want:
			return fmt.Errorf("%s on %s is not release N+1's version of %s", dist, e.Host, e.Path)
		}
		fmt.Fprintf(out, "%s on %s keeps the administrator's edit; %s is release N+1's version\n", e.Path, e.Host, dist)
		return nil
	}
}

// diffCheck compares what `invenio-infra diff` says release N+1 changes
// with what the upgrade changed on each host.
func (t *Test) diffCheck(r *rolling) check {
	return func(ctx context.Context, out io.Writer) error {
		if err := r.notRan(); err != nil {
			return err
		}
		var text strings.Builder
		_ = r.plan.report.WriteText(&text)
		fmt.Fprintf(out, "invenio-infra diff:\n%s\n", tail(text.String(), 60))
		var problems []string
		for _, host := range sortedKeys(r.after) {
			problems = append(problems, r.hostProblems(host)...)
		}
		if len(problems) > 0 {
			return fmt.Errorf("%d differences between the diff and the hosts:\n%s", len(problems), tail(strings.Join(problems, "\n"), 40))
		}
		fmt.Fprintf(out, "every file either release installs is on the hosts as release N+1 renders it; only the files the diff names changed\n")
		return nil
	}
}

// hostProblems lists where host's files disagree with the diff: a file the
// diff names that is not release N+1's, one it does not name that changed,
// one that was not release N's before, or a .dpkg-* file beside a conffile
// nobody but the administrator edited.
func (r *rolling) hostProblems(host string) []string {
	named := map[string]changes.Status{}
	for _, f := range r.plan.hostReport(host).Files {
		named[f.Path] = f.Status
	}
	before, after := r.before[host], r.after[host]
	var out []string
	for _, path := range r.plan.paths[host] {
		admin := host == r.edit.Host && path == r.edit.Path
		from, to := rendered(r.plan.from, host, path), rendered(r.plan.to, host, path)
		switch {
		case admin:
			// The administrator's file: confoldCheck's.
		case before[path] != from:
			out = append(out, fmt.Sprintf("%s %s: before the upgrade not release N's rendering", host, path))
		case after[path] != to:
			out = append(out, fmt.Sprintf("%s %s: after the upgrade not release N+1's rendering (diff: %s)", host, path, orNone(string(named[path]))))
		case named[path] == "" && after[path] != before[path]:
			out = append(out, fmt.Sprintf("%s %s: changed, though the diff does not name it", host, path))
		}
	}
	for _, p := range dpkgLeftovers(after) {
		if before[p] != after[p] && (host != r.edit.Host || p != r.edit.Path+".dpkg-dist") {
			out = append(out, fmt.Sprintf("%s %s: left by dpkg beside a conffile the administrator did not edit", host, p))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unchanged"
	}
	return s
}
