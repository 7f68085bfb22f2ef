package boottest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
	"gitlab.tugraz.at/invenio/invenio-infra/topology"
	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// fingerprintsEnd ends the block of SSH host key fingerprints cloud-init
// prints on the console in its final stage: the guest's first boot is
// through once it shows.
var fingerprintsEnd = regexp.MustCompile(`-----END SSH HOST KEY FINGERPRINTS-----`)

// guest is one VM of the instance under test.
type guest struct {
	Host  site.Host
	Net   topology.HostNet
	Image string
	// Manifest is the image's manifest (its stand-ins matter).
	Manifest bake.Manifest
	Dir      string
	Memory   int

	t *Test

	mu      sync.Mutex
	machine *vm.Machine
	client  *ssh.Client
	// Ready is the time from power-on to every unit started (or failed).
	Ready time.Duration
	// bootID is the kernel's boot ID at the last readiness.
	bootID string
	// cpuAtReady is the guest's CPU time by unit when it became ready.
	cpuAtReady string
	// cloudInit is cloud-init's state in the last boot: "ran" or
	// "disabled".
	cloudInit string
	// identity is what the host made for itself on first boot.
	identity identity
}

// Has reports whether the guest has role r.
func (g *guest) Has(r site.Role) bool { return g.Host.Has(r) }

// addr is the guest's internal address.
func (g *guest) addr() netip.Addr { return g.Net.Addr }

// findImage returns the qcow2 image of host h in dir: INSTANCE-HOST, else
// INSTANCE-ROLES, as `release` and `image` name them.
func findImage(s *site.Site, in site.Instance, h site.Host, dir string) (string, bake.Manifest, error) {
	names := []string{
		bake.DefaultName(in.Name, h.Name, bake.RoleSet{}),
		bake.DefaultName(in.Name, "", bake.ResolveRoles(s, in, h)),
	}
	for _, n := range names {
		p := filepath.Join(dir, n+".qcow2")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		m, err := bake.ReadManifest(filepath.Join(dir, n+".manifest.json"))
		if err != nil {
			return "", bake.Manifest{}, fmt.Errorf("image %s: %w", p, err)
		}
		return p, m, nil
	}
	return "", bake.Manifest{}, fmt.Errorf("no image for host %s in %s (looked for %s.qcow2); make them with `invenio-infra release`",
		h.Name, dir, strings.Join(names, ".qcow2, "))
}

// memoryMiB is a guest's RAM: enough for the instance's PostgreSQL shared
// buffers on a services host, 2 GiB for a web host (and for a host of any
// other role).
func memoryMiB(h site.Host, sz site.Sizing) int {
	mem := 0
	if h.Has(site.RoleWeb) {
		mem += 2048
	}
	if h.Has(site.RoleServices) {
		mem += 2048 + 2*sizeMiB(sz.PostgreSQL.SharedBuffers)
	}
	return max(mem, 2048)
}

// sizeMiB reads PostgreSQL's "512MB", "2GB" (or kB) as MiB; 256 when unreadable.
func sizeMiB(s string) int {
	s = strings.TrimSpace(strings.ToUpper(s))
	for _, u := range []struct {
		suffix string
		mul    float64
	}{{"TB", 1 << 20}, {"GB", 1 << 10}, {"MB", 1}, {"KB", 1.0 / 1024}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			if v, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil {
				return int(v * u.mul)
			}
		}
	}
	return 256
}

// seedFiles returns the guest's cloud-init seed, as `seed` writes it: with
// the test's SSH key, the test's name server, and on web hosts the TLS
// certificate and key the test's authority issued.
func (g *guest) seedFiles(certPEM, keyPEM []byte) (map[string][]byte, error) {
	t := g.t
	cfg, err := seed.ForHost(t.site, t.in, g.Host.Name, t.secrets, seed.Options{
		SSHAuthorizedKeys: []string{t.key.Authorized},
		Nameservers:       []netip.Addr{t.plan.Client},
		TLSCertificate:    certPEM,
		TLSKey:            seed.PrivateKey(keyPEM),
		AppSecrets:        t.appSecrets,
	})
	if err != nil {
		return nil, err
	}
	return cfg.Files()
}

// start builds the seed image and powers the guest on inside the test's
// network, on its tap device.
func (g *guest) start(ctx context.Context, certPEM, keyPEM []byte) error {
	files, err := g.seedFiles(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("%s: seed: %w", g.Host.Name, err)
	}
	seedImg := filepath.Join(g.Dir, "seed.img")
	if err := seed.BuildFAT(ctx, files, seedImg, time.Now()); err != nil {
		return fmt.Errorf("%s: seed: %w", g.Host.Name, err)
	}
	size, err := imageSize(ctx, g.Image)
	if err != nil {
		return fmt.Errorf("%s: %w", g.Host.Name, err)
	}
	spec := vm.Spec{
		Disk: g.Image, DiskSize: size + diskHeadroom, Seed: seedImg, Firmware: g.t.opts.Firmware, MemoryMiB: g.Memory, CPUs: g.t.cpus(g),
		Reboot: true, Extra: topology.NetArgs(g.Net),
	}
	var m *vm.Machine
	err = g.t.nw.Do(func() error {
		var err error
		m, err = vm.Launch(ctx, g.Dir, spec, g.t.accel.Accel, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", g.Host.Name, err)
	}
	g.mu.Lock()
	g.machine = m
	g.mu.Unlock()
	return nil
}

// console returns what the guest printed on its serial console so far.
func (g *guest) console() string {
	g.mu.Lock()
	m := g.machine
	g.mu.Unlock()
	if m == nil {
		return ""
	}
	return m.Console()
}

// waitReady waits for the first boot to finish (cloud-init's final stage
// printed the host keys), logs in over SSH and waits for systemd to finish
// starting units. Ready is the time from power-on until then.
func (g *guest) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := g.machine.WaitFor(ctx, fingerprintsEnd, timeout); err != nil {
		return fmt.Errorf("%s: cloud-init's final stage did not finish: %w", g.Host.Name, err)
	}
	if err := g.connect(ctx); err != nil {
		return err
	}
	return g.settle(ctx, func() time.Duration { return g.machine.Since() })
}

// cloudInitResult waits for the file cloud-init's final stage writes last
// and prints it. (`cloud-init status --wait` would tell the same, but it is
// a Python program: many seconds of an emulated CPU, inside the time being
// measured.)
// On later boots cloud-init does not run (the seed disabled it: see
// seed.DisabledPath); it prints "disabled".
const cloudInitResult = `if [ -e /run/cloud-init/disabled ]; then echo disabled; exit 0; fi
i=0
until [ -s /run/cloud-init/result.json ]; do
    i=$((i + 1)); [ "$i" -lt 600 ] || { echo "no /run/cloud-init/result.json after 600 s" >&2; exit 1; }
    sleep 1
done
cat /run/cloud-init/result.json`

// cloudInitErrors reads cloud-init's result.json: an error for each error
// it recorded in this boot; none when cloud-init was disabled.
func cloudInitErrors(result string) error {
	if cloudInitState(result) == "disabled" {
		return nil
	}
	var r struct {
		V1 struct {
			Errors []string `json:"errors"`
		} `json:"v1"`
	}
	if err := json.Unmarshal([]byte(result), &r); err != nil {
		return fmt.Errorf("cloud-init's result.json: %w", err)
	}
	if len(r.V1.Errors) > 0 {
		return fmt.Errorf("cloud-init reported errors: %s", strings.Join(r.V1.Errors, "; "))
	}
	return nil
}

// cloudInitState names what cloudInitResult printed.
func cloudInitState(result string) string {
	if strings.TrimSpace(result) == "disabled" {
		return "disabled"
	}
	return "ran"
}

// settle waits until systemd has started every unit and cloud-init is
// done, and records the boot ID and the readiness time given by since.
func (g *guest) settle(ctx context.Context, since func() time.Duration) error {
	// is-system-running --wait exits non-zero for "degraded": that is a
	// finished boot too; the unit checks report what failed.
	state, _ := g.run(ctx, "systemctl is-system-running --wait")
	state = strings.TrimSpace(state)
	if state != "running" && state != "degraded" {
		return fmt.Errorf("%s: system state %q after waiting", g.Host.Name, state)
	}
	result, err := g.run(ctx, cloudInitResult)
	if err != nil {
		return fmt.Errorf("%s: cloud-init: %w", g.Host.Name, err)
	}
	if err := cloudInitErrors(result); err != nil {
		return fmt.Errorf("%s: %w", g.Host.Name, err)
	}
	id, err := g.run(ctx, "cat /proc/sys/kernel/random/boot_id")
	if err != nil {
		return fmt.Errorf("%s: %w", g.Host.Name, err)
	}
	ready := since()
	cpu := ""
	if out, err := g.run(ctx, cpuCommand); err == nil {
		cpu = formatCPU(parseCPU(out))
	}
	g.mu.Lock()
	g.Ready, g.bootID, g.cpuAtReady, g.cloudInit = ready, strings.TrimSpace(id), cpu, cloudInitState(result)
	g.mu.Unlock()
	return nil
}

// connect logs in over SSH, retrying until ctx ends.
func (g *guest) connect(ctx context.Context) error {
	addr := net.JoinHostPort(g.addr().String(), "22")
	var last error
	for {
		c, err := dialSSH(ctx, g.t.nw.DialContext, addr, g.t.key, consoleHostKey(g.console))
		if err == nil {
			g.mu.Lock()
			if g.client != nil {
				g.client.Close()
			}
			g.client = c
			g.mu.Unlock()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: ssh %s: %w", g.Host.Name, addr, errors.Join(last, ctx.Err()))
		case <-time.After(2 * time.Second):
		}
	}
}

// run runs a command on the guest through sudo and returns its output.
func (g *guest) run(ctx context.Context, cmd string) (string, error) {
	g.mu.Lock()
	c := g.client
	g.mu.Unlock()
	if c == nil {
		return "", fmt.Errorf("%s: not logged in", g.Host.Name)
	}
	return run(ctx, c, "sudo sh -c "+escape.Shell(cmd))
}

// pending is a guest command running in the background: a slow command
// whose output a later check reads runs alongside the checks before it.
type pending struct {
	done chan struct{}
	out  string
	err  error
}

// background runs cmd on g in the background.
func (g *guest) background(ctx context.Context, cmd string) *pending {
	p := &pending{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.out, p.err = g.run(ctx, cmd)
	}()
	return p
}

// wait returns the command's output once it has finished.
func (p *pending) wait(ctx context.Context) (string, error) {
	select {
	case <-p.done:
		return p.out, p.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// reboot reboots the guest and waits until it is back with a new boot ID
// and settled; it returns the time from the reboot command to ready.
func (g *guest) reboot(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	g.mu.Lock()
	old := g.bootID
	g.mu.Unlock()
	start := time.Now()
	// The connection drops as the guest goes down; that error is expected.
	_, _ = g.run(ctx, "systemctl reboot")
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		time.Sleep(3 * time.Second)
		if err := g.connect(ctx); err != nil {
			return 0, err
		}
		id, err := g.run(ctx, "cat /proc/sys/kernel/random/boot_id")
		if err == nil && strings.TrimSpace(id) != old {
			break
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s: did not come back from the reboot", g.Host.Name)
		}
	}
	if err := g.settle(ctx, func() time.Duration { return time.Since(start) }); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// powerOff pulls the guest's plug: QEMU ends at once, as a VM whose host
// failed.
func (g *guest) powerOff() {
	g.mu.Lock()
	m, c := g.machine, g.client
	g.client = nil
	g.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if m != nil {
		m.Kill()
	}
}

// close shuts the guest down: it is thrown away, so QEMU is killed.
func (g *guest) close() {
	g.mu.Lock()
	m, c := g.machine, g.client
	g.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if m != nil {
		m.Close()
	}
}
