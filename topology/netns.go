package topology

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps its named namespaces.
const netnsDir = "/run/netns"

// NamePrefix starts the name of every namespace this package creates; the
// rest is the creating process's ID and a counter, so that namespaces left
// behind by a process that died can be told apart and removed.
const NamePrefix = "invenio-topo-"

var (
	nameRe  = regexp.MustCompile(`^` + regexp.QuoteMeta(NamePrefix) + `([0-9]+)-[0-9]+$`)
	counter atomic.Int64
)

// Namespace is a network namespace created with `ip netns add`.
type Namespace struct {
	// Name is the namespace's name, as `ip netns` lists it.
	Name string
}

// NewNamespace creates a fresh network namespace with only its loopback
// device, up. It first removes namespaces of this package whose process is
// gone. Close the namespace when done.
func NewNamespace(ctx context.Context) (*Namespace, error) {
	removeStale(ctx)
	n := &Namespace{Name: fmt.Sprintf("%s%d-%d", NamePrefix, os.Getpid(), counter.Add(1))}
	if err := ipCmd(ctx, "netns", "add", n.Name); err != nil {
		return nil, err
	}
	if err := n.IP(ctx, "link", "set", "lo", "up"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Close deletes the namespace. Devices in it (the bridge, the taps) go
// with it once no process runs inside it any more: stop those first.
func (n *Namespace) Close() error {
	return ipCmd(context.Background(), "netns", "delete", n.Name)
}

// path is the namespace's file, which setns(2) takes.
func (n *Namespace) path() string { return filepath.Join(netnsDir, n.Name) }

// IP runs `ip -netns NAME ARGS...`.
func (n *Namespace) IP(ctx context.Context, args ...string) error {
	return ipCmd(ctx, append([]string{"-netns", n.Name}, args...)...)
}

// Command returns a command that runs name inside the namespace, through
// `ip netns exec`.
func (n *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on an operating system thread that has entered the namespace.
// Sockets fn opens, and processes it starts (os/exec forks from the
// calling thread), belong to the namespace. The thread is never reused: it
// ends with fn. Goroutines fn starts run elsewhere, outside.
func (n *Namespace) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends a thread whose goroutine exits
		// while locked, so no other goroutine runs in the namespace.
		runtime.LockOSThread()
		fd, err := unix.Open(n.path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("topology: open namespace %s: %w", n.Name, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("topology: enter namespace %s: %w", n.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// DialContext dials from inside the namespace. Give addresses as IP
// literals: names are not resolved there.
func (n *Namespace) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens inside the namespace.
func (n *Namespace) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// HTTPClient returns a client whose connections start inside the
// namespace, one connection per request (so a load balancer sees each
// request anew), with the given TLS settings.
func (n *Namespace) HTTPClient(tlsConfig *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:       n.DialContext,
		TLSClientConfig:   tlsConfig,
		DisableKeepAlives: true,
		Proxy:             nil,
	}}
}

// ipCmd runs ip(8) and returns its error output with a failure.
func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("topology: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeStale deletes this package's namespaces whose creating process no
// longer exists (a test that was killed before its cleanup ran).
func removeStale(ctx context.Context) {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		m := nameRe.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || alive(pid) {
			continue
		}
		_ = ipCmd(ctx, "netns", "delete", e.Name())
	}
}

// alive reports whether a process with that ID exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
