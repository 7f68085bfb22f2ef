package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/cachedir"
)

// AccelEnv overrides the accelerator choice: "kvm", "tcg" or "auto" (the
// default: probe).
const AccelEnv = "INVENIO_INFRA_ACCEL"

// probeTimeout bounds the KVM probe. Under a working KVM, SeaBIOS gets
// through POST in well under a second.
const probeTimeout = 10 * time.Second

// probeMarker is what SeaBIOS prints on its debug port at the end of POST
// when it finds nothing to boot: the probe guest ran through PCI set-up,
// timers and option ROMs.
const probeMarker = "No bootable device."

// Choice is the accelerator to use and why.
type Choice struct {
	Accel  Accel
	Reason string
}

// String reads like "tcg (/dev/kvm: no such file or directory)".
func (c Choice) String() string { return fmt.Sprintf("%s (%s)", c.Accel, c.Reason) }

var (
	chooseOnce sync.Once
	chosen     Choice
)

// ChooseAccel returns the accelerator for this process's machines, deciding
// once: what AccelEnv forces; else KVM when /dev/kvm opens and probe guests
// run under it (see probeKVM); else TCG. On the machines this project is built on,
// /dev/kvm exists but guests hang under it (nested virtualisation), which
// is what the probe catches.
func ChooseAccel(ctx context.Context) Choice {
	chooseOnce.Do(func() { chosen = choose(ctx, os.Getenv(AccelEnv), probeKVM) })
	return chosen
}

// choose decides with env as AccelEnv's value and probe as the KVM probe.
func choose(ctx context.Context, env string, probe func(context.Context) error) Choice {
	switch env {
	case string(KVM):
		return Choice{KVM, AccelEnv + "=kvm"}
	case string(TCG):
		return Choice{TCG, AccelEnv + "=tcg"}
	case "", "auto":
	default:
		return Choice{TCG, fmt.Sprintf("%s=%q is not kvm, tcg or auto", AccelEnv, env)}
	}
	if err := probe(ctx); err != nil {
		return Choice{TCG, err.Error()}
	}
	return Choice{KVM, "probe guests ran under KVM: SeaBIOS POST and Linux to its panic"}
}

// probeKVM returns nil when guests run under KVM: a SeaBIOS guest
// completes POST, and then a Linux kernel boots to its panic for want of a
// root file system. Both are needed: under some nested virtualisation
// (seen under Firecracker) SeaBIOS gets through POST and GRUB starts, but
// the kernel hangs before its first line. Without a kernel to probe with
// (see probeKernel), KVM is not chosen.
func probeKVM(ctx context.Context) error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err // "open /dev/kvm: no such file or directory"
	}
	f.Close()
	if err := probeGuest(ctx, ProbeArgs, probeMarker, probeTimeout, "finish POST"); err != nil {
		return err
	}
	kernel := probeKernel()
	if kernel == "" {
		return errors.New("SeaBIOS ran under KVM, but no Linux kernel was found to probe it with (a bake caches one)")
	}
	args := func(log string) []string { return KernelProbeArgs(kernel, log) }
	return probeGuest(ctx, args, kernelProbeMarker, kernelProbeTimeout, "boot Linux to its panic")
}

// probeGuest runs a probe guest whose argv args(log) writes to log, and
// returns nil once log contains marker, or an error after timeout.
func probeGuest(ctx context.Context, args func(log string) []string, marker string, timeout time.Duration, what string) error {
	dir, err := os.MkdirTemp("", "kvm-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "probe.log")
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, args(log)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("KVM probe: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	for {
		if b, _ := os.ReadFile(log); bytes.Contains(b, []byte(marker)) {
			cancel()
			<-done //nolint:errcheck // killed by cancel: its exit status says nothing
			return nil
		}
		select {
		case err := <-done:
			if b, _ := os.ReadFile(log); bytes.Contains(b, []byte(marker)) {
				return nil
			}
			return fmt.Errorf("KVM probe guest exited: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
		case <-ctx.Done():
			<-done //nolint:errcheck // killed by the context: its exit status says nothing
			return fmt.Errorf("a probe guest under KVM did not %s in %s (nested virtualisation?)", what, time.Since(start).Round(time.Second))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kernelProbeTimeout bounds the kernel probe: under a working KVM, Linux
// reaches its panic for want of a root in about two seconds (under TCG on
// these machines, in about five).
const kernelProbeTimeout = 10 * time.Second

// kernelProbeMarker is what Linux prints when it has run its whole early
// init (timers, interrupts, PCI, drivers) and finds no root file system.
const kernelProbeMarker = "Kernel panic"

// probeKernel returns a Linux kernel of this machine to probe KVM with: the
// host's own, else the newest one in a cached base root of the image bakes;
// "" if there is none.
func probeKernel() string {
	globs := []string{"/boot/vmlinuz-*"}
	if dir, err := cachedir.Dir(); err == nil {
		globs = append(globs, filepath.Join(dir, "images", "base", "*", "*", "root", "boot", "vmlinuz-*"))
	}
	for _, g := range globs {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return m[len(m)-1]
		}
	}
	return ""
}

// KernelProbeArgs returns the argv (without the command) that boots kernel
// under KVM with its console on the serial port, written to log, and no
// root file system; it panics and, with -no-reboot, exits.
func KernelProbeArgs(kernel, log string) []string {
	return []string{
		"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "256",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-chardev", "file,id=serial0,path=" + escape(log), "-serial", "chardev:serial0",
		"-kernel", kernel, "-append", "console=ttyS0 panic=-1",
	}
}

// ProbeArgs returns the argv (without the command) of the KVM probe guest:
// SeaBIOS, no disks, its debug port (0x402) written to log.
func ProbeArgs(log string) []string {
	return []string{
		"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "64",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-chardev", "file,id=dbg,path=" + escape(log),
		"-device", "isa-debugcon,iobase=0x402,chardev=dbg",
	}
}
