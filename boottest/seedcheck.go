package boottest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// identity is what a guest made for itself on first boot; no two hosts of
// an instance may share any of it (the image carries none).
type identity struct {
	machineID, hostKey string
}

// seedFacts is the shell that reports, one "name=value" a line, what the
// seed and the first boot left on a host. It prints a hash of the secrets
// file, never its content.
func (t *Test) seedFacts(g *guest) string {
	s := `f=/etc/invenio/secrets.env
echo "hostname=$(hostname)"
echo "secrets=$(stat -c '%a %U %G' $f) sha256=$(sha256sum <$f | cut -d' ' -f1)"
echo "hostkeys=$(cd /etc/ssh && echo ssh_host_*_key)"
echo "hostkey=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)"
echo "machineid=$(cat /etc/machine-id)"
u=$(ss -Hlnu '( sport = :5355 or sport = :5353 )' | wc -l) t=$(ss -Hlnt 'sport = :5355' | wc -l)
command -v ss >/dev/null || u=no-ss
echo "linkresolvers=$u $t"
echo "acceptra=$(cat /run/systemd/network/*.network | grep '^IPv6AcceptRA=' | sort -u | tr '\n' ' ')"
`
	if g.Has(site.RoleWeb) {
		s += `echo "tlskey=$(stat -c '%a %U %G' ` + escape.Shell(t.site.TLS.Key) + `)"` + "\n"
	}
	if g.Has(site.RoleServices) {
		s += `echo "snakeoil=$(stat -c '%a %U %G' /etc/ssl/private/ssl-cert-snakeoil.key)"` + "\n"
	}
	return s
}

// hostKeyFiles is what the shell's glob ssh_host_*_key gives in /etc/ssh
// on a host whose first boot made its keys: one per bake.HostKeyTypes, no
// RSA key.
func hostKeyFiles() string {
	var names []string
	for _, t := range bake.HostKeyTypes {
		names = append(names, "ssh_host_"+t+"_key")
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// seedCheck checks what the host's seed did on first boot: its host name,
// the secrets file (mode, owner and content), SSH host keys and a
// machine-id made there, the TLS keys' modes, that nothing listens for
// link-local name queries (LLMNR, multicast DNS) and that the network
// accepts no IPv6 router advertisements.
func (t *Test) seedCheck(g *guest) check {
	return func(ctx context.Context, out io.Writer) error {
		raw, err := g.run(ctx, t.seedFacts(g))
		if err != nil {
			return err
		}
		fmt.Fprint(out, raw)
		facts := parseFacts(raw)
		sum := sha256.Sum256(t.secrets.Env())
		want := map[string]string{
			"hostname": g.Host.Name,
			"secrets":  "640 root invenio sha256=" + hex.EncodeToString(sum[:]),
			"hostkeys": hostKeyFiles(),
			// Sockets on LLMNR's and multicast DNS's ports (UDP, TCP):
			// the image turns both off in systemd-resolved.
			"linkresolvers": "0 0",
			// netplan's networkd file from the seed's network-config: no
			// router advertisement configures the host.
			"acceptra": "IPv6AcceptRA=no",
		}
		if g.Has(site.RoleWeb) {
			want["tlskey"] = "600 root root"
		}
		if g.Has(site.RoleServices) {
			want["snakeoil"] = "640 root ssl-cert"
		}
		var problems []string
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if facts[k] != want[k] {
				problems = append(problems, fmt.Sprintf("%s is %q, want %q", k, facts[k], want[k]))
			}
		}
		if len(facts["machineid"]) != 32 {
			problems = append(problems, fmt.Sprintf("machine-id %q was not made on first boot", facts["machineid"]))
		}
		g.mu.Lock()
		g.identity = identity{machineID: facts["machineid"], hostKey: facts["hostkey"]}
		g.mu.Unlock()
		if len(problems) > 0 {
			return fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return nil
	}
}

// uniqueCheck checks that every host made its own machine-id and SSH host
// key, and that no secret of the instance and no TLS key reached a serial
// console.
func (t *Test) uniqueCheck() check {
	return func(ctx context.Context, out io.Writer) error {
		var problems []string
		seen := map[string]string{}
		for _, g := range t.guests {
			g.mu.Lock()
			id := g.identity
			g.mu.Unlock()
			for what, v := range map[string]string{"machine-id": id.machineID, "SSH host key": id.hostKey} {
				if v == "" {
					problems = append(problems, g.Host.Name+": no "+what+" read")
					continue
				}
				if other, ok := seen[v]; ok {
					problems = append(problems, fmt.Sprintf("%s and %s share their %s", other, g.Host.Name, what))
				}
				seen[v] = g.Host.Name
			}
			if leaked := t.leaks(g.console()); len(leaked) > 0 {
				problems = append(problems, g.Host.Name+"'s console shows "+strings.Join(leaked, ", "))
			}
		}
		fmt.Fprintf(out, "%d hosts: machine-ids and SSH host keys checked, consoles searched for %d secrets and the TLS key\n",
			len(t.guests), t.secrets.Len()+t.appSecrets.Len())
		if len(problems) > 0 {
			return fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return nil
	}
}

// leaks returns which secrets (by name, never by value) and whether the TLS
// key's body appear in console.
func (t *Test) leaks(console string) []string {
	var out []string
	for i, v := range t.secrets.Values() {
		if strings.Contains(console, v) {
			out = append(out, t.secrets.Keys()[i])
		}
	}
	for i, v := range t.appSecrets.Values() {
		if strings.Contains(console, v) {
			out = append(out, t.appSecrets.Keys()[i])
		}
	}
	if lines := strings.Split(string(t.tlsKey), "\n"); len(lines) > 1 && lines[1] != "" && strings.Contains(console, lines[1]) {
		out = append(out, "the TLS key")
	}
	return out
}

// parseFacts reads "name=value" lines.
func parseFacts(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}
