package vm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
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
// once: what AccelEnv forces; else KVM when /dev/kvm opens and a probe guest
// (SeaBIOS with no disk) reaches the end of POST under it within
// probeTimeout; else TCG. On the machines this project is built on,
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
	return Choice{KVM, "a probe guest ran under KVM"}
}

// probeKVM returns nil when a SeaBIOS guest completes POST under KVM.
func probeKVM(ctx context.Context) error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err // "open /dev/kvm: no such file or directory"
	}
	f.Close()
	dir, err := os.MkdirTemp("", "kvm-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "debugcon.log")
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, ProbeArgs(log)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("KVM probe: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	for {
		if b, _ := os.ReadFile(log); bytes.Contains(b, []byte(probeMarker)) {
			cancel()
			<-done
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("KVM probe guest exited: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
		case <-ctx.Done():
			<-done
			return fmt.Errorf("a probe guest under KVM did not finish POST in %s (nested virtualisation?)", time.Since(start).Round(time.Second))
		case <-time.After(100 * time.Millisecond):
		}
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
