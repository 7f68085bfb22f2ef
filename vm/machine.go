package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Machine is a running QEMU process.
type Machine struct {
	cfg     Config
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	started time.Time

	mu      sync.Mutex
	console bytes.Buffer  // everything the serial console printed
	changed chan struct{} // closed and replaced on new output or exit
	stderr  bytes.Buffer
	exited  bool
	exitErr error

	done    chan struct{} // closed when the process has exited
	cleanup func()        // run by Close
}

// Start starts a machine. Its serial output is recorded in c.SerialLog and
// kept in memory for WaitFor; echo, when not nil, gets a live copy.
func Start(ctx context.Context, c Config, echo io.Writer) (*Machine, error) {
	args, err := Args(c)
	if err != nil {
		return nil, err
	}
	m := &Machine{cfg: c, changed: make(chan struct{}), done: make(chan struct{})}
	m.cmd = exec.CommandContext(ctx, qemuBinary, args...)
	m.cmd.Stderr = &lockedWriter{m: &m.mu, w: &m.stderr}
	// A process group of its own, so that Kill also ends anything QEMU (or
	// a test's stand-in) started, and a terminal's ^C goes to the test only.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("vm: starting %s: %w", Binary, err)
	}
	m.started = time.Now()
	go m.read(stdout, echo)
	return m, nil
}

// read copies the console into memory (and echo) until QEMU exits.
func (m *Machine) read(r io.Reader, echo io.Writer) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if echo != nil {
				_, _ = echo.Write(buf[:n]) // echoing is best effort; the log keeps it
			}
			m.mu.Lock()
			m.console.Write(buf[:n])
			m.notifyLocked()
			m.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	err := m.cmd.Wait()
	m.mu.Lock()
	m.exited, m.exitErr = true, err
	close(m.done)
	m.notifyLocked()
	m.mu.Unlock()
}

func (m *Machine) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Match is a pattern found on the console.
type Match struct {
	// Groups are the regexp's match and submatches.
	Groups []string
	// After is the time from Start to when the match was seen.
	After time.Duration
}

// ErrExited is returned by WaitFor when the machine stops before the
// pattern appears.
var ErrExited = errors.New("vm: machine exited")

// WaitFor waits until re matches the console output (all of it, from the
// start) and returns the first match. It fails after timeout, when ctx
// ends, or when the machine exits; errors end with the console's tail.
func (m *Machine) WaitFor(ctx context.Context, re *regexp.Regexp, timeout time.Duration) (Match, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		g := re.FindSubmatch(m.console.Bytes())
		exited, exitErr, changed := m.exited, m.exitErr, m.changed
		m.mu.Unlock()
		if g != nil {
			return Match{Groups: strs(g), After: time.Since(m.started)}, nil
		}
		if exited {
			return Match{}, fmt.Errorf("%w (%w) before %q appeared%s", ErrExited, exitErr, re, m.tail())
		}
		select {
		case <-changed:
		case <-deadline.C:
			return Match{}, fmt.Errorf("vm: %q did not appear on the console within %s%s", re, timeout, m.tail())
		case <-ctx.Done():
			return Match{}, fmt.Errorf("vm: waiting for %q: %w%s", re, ctx.Err(), m.tail())
		}
	}
}

func strs(g [][]byte) []string {
	out := make([]string, len(g))
	for i, b := range g {
		out[i] = string(b)
	}
	return out
}

// tailLines is how much console a failure shows.
const tailLines = 30

// tail returns the last console lines and QEMU's standard error, for errors.
func (m *Machine) tail() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	lines := bytes.Split(bytes.TrimRight(m.console.Bytes(), "\r\n"), []byte("\n"))
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	s := fmt.Sprintf("\n--- console (last %d lines; all in %s) ---\n%s", len(lines), m.cfg.SerialLog, bytes.Join(lines, []byte("\n")))
	if e := bytes.TrimSpace(m.stderr.Bytes()); len(e) > 0 {
		s += "\n--- qemu stderr ---\n" + string(e)
	}
	return s
}

// Console returns everything the serial console printed so far.
func (m *Machine) Console() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.console.String()
}

// Since returns the time since Start.
func (m *Machine) Since() time.Duration { return time.Since(m.started) }

// Shutdown asks the guest to power off (ACPI power button, which systemd-
// logind handles) and waits up to timeout; then it presses Ctrl-Alt-Del
// (systemd reboots in order, and -no-reboot ends QEMU) and waits as long
// again; then it tells QEMU to quit, and finally kills it. It returns nil
// when the guest went down in order.
func (m *Machine) Shutdown(timeout time.Duration) error {
	if m.waitExit(0) {
		return m.exitError()
	}
	if err := qmpCommand(m.cfg.QMPSocket, "system_powerdown"); err == nil && m.waitExit(timeout) {
		return m.exitError()
	}
	if err := qmpCommand(m.cfg.QMPSocket, ctrlAltDel); err == nil && m.waitExit(timeout) {
		return m.exitError()
	}
	if err := qmpCommand(m.cfg.QMPSocket, "quit"); (err == nil || errors.Is(err, io.EOF)) && m.waitExit(10*time.Second) {
		return fmt.Errorf("vm: the guest did not power off within %s; QEMU was told to quit", timeout)
	}
	m.Kill()
	return fmt.Errorf("vm: the guest did not power off within %s and QEMU did not quit; killed", timeout)
}

// Kill ends QEMU at once and waits for it.
func (m *Machine) Kill() {
	if m.cmd.Process != nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-m.done
}

// waitExit waits up to d for the process to end.
func (m *Machine) waitExit(d time.Duration) bool {
	select {
	case <-m.done:
		return true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.done:
		return true
	case <-t.C:
		return false
	}
}

func (m *Machine) exitError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exitErr != nil {
		return fmt.Errorf("vm: %s: %w%s", Binary, m.exitErr, stderrTail(m.stderr.Bytes()))
	}
	return nil
}

func stderrTail(b []byte) string {
	if b = bytes.TrimSpace(b); len(b) == 0 {
		return ""
	}
	return ": " + string(b)
}

// lockedWriter serialises writes into a buffer the machine also reads.
type lockedWriter struct {
	m *sync.Mutex
	w io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.m.Lock()
	defer l.m.Unlock()
	return l.w.Write(p)
}

// Overlay creates a qcow2 image at path that records writes on top of base
// (which is only read), with virtual size sizeBytes (0: base's size). A
// relative base is made absolute: qemu-img would look for it next to path.
func Overlay(ctx context.Context, base, path string, sizeBytes int64) error {
	base, err := filepath.Abs(base)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	out, err := exec.CommandContext(ctx, "qemu-img", OverlayArgs(base, path, sizeBytes)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("vm: creating overlay %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

// OverlayArgs returns qemu-img's argv (without the command) for Overlay.
func OverlayArgs(base, path string, sizeBytes int64) []string {
	a := []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", diskFormat(base), path}
	if sizeBytes > 0 {
		a = append(a, fmt.Sprint(sizeBytes))
	}
	return a
}

// CopyFile copies src to dst (mode 0644), e.g. OVMF's variable store
// template to a machine's own writable copy.
func CopyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
