// Package vm boots disk images in QEMU, for the boot-test command and the
// image tests alike: it builds the qemu-system-x86_64 command line (a pure
// function), picks the accelerator (KVM only when a probe guest really runs
// under it, else TCG), records the serial console to a file while callers
// wait for patterns on it,
// and shuts machines down cleanly over QMP, killing them if they do not go.
//
// A machine has no network by default. NetUser gives it QEMU's user-mode
// network with restrict=on: the guest sees a NIC, but nothing it sends
// leaves the QEMU process. Other networks (a tap device in a test's network
// namespace) come as Extra arguments.
package vm

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Binary is the QEMU system emulator the package runs.
const Binary = "qemu-system-x86_64"

// qemuBinary is what Start runs; tests replace it with a fake.
var qemuBinary = Binary

// Firmware selects how the machine boots.
type Firmware string

// The firmwares.
const (
	// BIOS is SeaBIOS, QEMU's default.
	BIOS Firmware = "bios"
	// UEFI is OVMF (Debian's ovmf package) with a private copy of its
	// variable store.
	UEFI Firmware = "uefi"
)

// Accel is the QEMU accelerator.
type Accel string

// The accelerators.
const (
	KVM Accel = "kvm"
	TCG Accel = "tcg"
)

// Net is a machine's network.
type Net string

// The networks.
const (
	// NetNone gives the machine no network device at all.
	NetNone Net = ""
	// NetUser gives it a virtio NIC on QEMU's user-mode network with
	// restrict=on (no traffic leaves QEMU).
	NetUser Net = "user-restricted"
)

// Config describes one machine.
type Config struct {
	// Disk is the boot disk (qcow2 or raw, by its extension). Tests boot an
	// Overlay, never the artefact itself.
	Disk string
	// Seed is an optional second disk (a cloud-init seed), attached read-only.
	Seed string
	// Firmware is BIOS (default) or UEFI.
	Firmware Firmware
	// OVMFCode and OVMFVars are the UEFI firmware and the machine's own
	// writable copy of the variable store; required for UEFI.
	OVMFCode, OVMFVars string
	// Accel is the accelerator; Start requires it to be set (see ChooseAccel).
	Accel Accel
	// MemoryMiB is the guest RAM; default 1024.
	MemoryMiB int
	// CPUs is the number of virtual CPUs; default 2.
	CPUs int
	// Net is the network; default NetNone.
	Net Net
	// SerialLog is the file the serial console is recorded in.
	SerialLog string
	// QMPSocket is the QMP control socket path.
	QMPSocket string
	// Reboot lets a guest reboot in place; by default a reboot (or a panic
	// that reboots) ends the QEMU process.
	Reboot bool
	// Extra arguments are appended as they are.
	Extra []string
}

// Args returns the argv (without the command) of qemu-system-x86_64 for c:
// a q35 machine with no default devices, the boot disk and the seed as
// virtio disks, a virtio RNG (guests under TCG would otherwise wait for
// entropy), the serial console on standard input and output and recorded
// in SerialLog, QMP on QMPSocket, and no reboot (a guest that reboots or
// panics into a reboot ends the process instead).
func Args(c Config) ([]string, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	a := []string{
		"-machine", "q35", "-accel", string(c.Accel),
		"-m", strconv.Itoa(orDefault(c.MemoryMiB, 1024)), "-smp", strconv.Itoa(orDefault(c.CPUs, 2)),
	}
	if c.Accel == KVM {
		a = append(a, "-cpu", "host")
	} else {
		a = append(a, "-cpu", TCGCPU)
	}
	a = append(a, "-nodefaults", "-display", "none")
	if !c.Reboot {
		a = append(a, "-no-reboot")
	}
	if c.Firmware == UEFI {
		a = append(a,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+escape(c.OVMFCode),
			"-drive", "if=pflash,format=raw,unit=1,file="+escape(c.OVMFVars))
	}
	a = append(a, "-drive", "if=virtio,format="+diskFormat(c.Disk)+",file="+escape(c.Disk))
	if c.Seed != "" {
		a = append(a, "-drive", "if=virtio,format=raw,readonly=on,file="+escape(c.Seed))
	}
	a = append(a, "-device", "virtio-rng-pci")
	if c.Net == NetUser {
		a = append(a, "-nic", "user,model=virtio-net-pci,restrict=on")
	}
	a = append(a,
		"-chardev", "stdio,id=serial0,signal=off,logfile="+escape(c.SerialLog)+",logappend=off",
		"-serial", "chardev:serial0",
		"-qmp", "unix:"+escape(c.QMPSocket)+",server=on,wait=off")
	return append(a, c.Extra...), nil
}

// TCGCPU is the CPU model of guests under TCG: QEMU's default, qemu64,
// without AMD's virtualization extension. qemu64 advertises SVM, so udev in
// every guest loaded kvm and kvm_amd at boot, seconds of emulated CPU for
// modules no production VM loads (nested virtualization is off on the
// hypervisors these images run on, and the roles run no VMs).
const TCGCPU = "qemu64,-svm"

// check reports what is missing from c.
func (c Config) check() error {
	var errs []error
	if c.Disk == "" {
		errs = append(errs, errors.New("no Disk"))
	}
	if c.Accel != KVM && c.Accel != TCG {
		errs = append(errs, fmt.Errorf("accelerator %q: want %q or %q", c.Accel, KVM, TCG))
	}
	switch c.Firmware {
	case BIOS, "":
	case UEFI:
		if c.OVMFCode == "" || c.OVMFVars == "" {
			errs = append(errs, errors.New("UEFI needs OVMFCode and OVMFVars"))
		}
	default:
		errs = append(errs, fmt.Errorf("firmware %q: want %q or %q", c.Firmware, BIOS, UEFI))
	}
	if c.Net != NetNone && c.Net != NetUser {
		errs = append(errs, fmt.Errorf("network %q: want none or %q", c.Net, NetUser))
	}
	if c.SerialLog == "" || c.QMPSocket == "" {
		errs = append(errs, errors.New("no SerialLog or QMPSocket"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}

// diskFormat guesses a disk's format from its name.
func diskFormat(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".qcow2") {
		return "qcow2"
	}
	return "raw"
}

// escape doubles commas, which QEMU's option syntax uses as separators.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}
