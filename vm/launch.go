package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// OVMF firmware files of Debian's ovmf package, in order of preference:
// the 4 MiB build and its variable store template, then the 2 MiB one.
var ovmfCandidates = [][2]string{
	{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
}

// FindOVMF returns the paths of OVMF's code and variable store template.
func FindOVMF() (code, vars string, err error) {
	for _, c := range ovmfCandidates {
		if isFile(c[0]) && isFile(c[1]) {
			return c[0], c[1], nil
		}
	}
	return "", "", errors.New("vm: no OVMF firmware in /usr/share/OVMF; install the ovmf package")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Spec is what a test wants to boot; Launch turns it into a Config.
type Spec struct {
	// Disk is the image to boot; it is only read (writes go to an overlay).
	Disk string
	// DiskSize is the overlay's virtual size; 0 keeps the image's size.
	// A bigger disk lets a test watch the root grow on first boot.
	DiskSize int64
	// Seed is an optional cloud-init seed image.
	Seed string
	// Firmware, Net, MemoryMiB, CPUs, Reboot and Extra are as in Config.
	Firmware  Firmware
	Net       Net
	MemoryMiB int
	CPUs      int
	Reboot    bool
	Extra     []string
}

// Launch boots s with accelerator accel. Files (overlay, firmware variables,
// serial.log) go into dir; the QMP socket goes into a short temporary
// directory of its own (socket paths are limited to 107 bytes). Close the
// machine when done.
func Launch(ctx context.Context, dir string, s Spec, accel Accel, echo io.Writer) (*Machine, error) {
	c := Config{
		Disk: filepath.Join(dir, "disk.qcow2"), Seed: s.Seed, Firmware: s.Firmware, Accel: accel,
		MemoryMiB: s.MemoryMiB, CPUs: s.CPUs, Net: s.Net, SerialLog: filepath.Join(dir, "serial.log"),
		Reboot: s.Reboot, Extra: s.Extra,
	}
	if err := Overlay(ctx, s.Disk, c.Disk, s.DiskSize); err != nil {
		return nil, err
	}
	if s.Firmware == UEFI {
		code, vars, err := FindOVMF()
		if err != nil {
			return nil, err
		}
		c.OVMFCode, c.OVMFVars = code, filepath.Join(dir, "OVMF_VARS.fd")
		if err := CopyFile(vars, c.OVMFVars); err != nil {
			return nil, fmt.Errorf("vm: copying OVMF variables: %w", err)
		}
	}
	sockDir, err := os.MkdirTemp("", "vm-")
	if err != nil {
		return nil, err
	}
	c.QMPSocket = filepath.Join(sockDir, "qmp")
	m, err := Start(ctx, c, echo)
	if err != nil {
		os.RemoveAll(sockDir)
		return nil, err
	}
	m.cleanup = func() { os.RemoveAll(sockDir) }
	return m, nil
}

// Close kills the machine if it still runs and removes its socket directory.
func (m *Machine) Close() {
	m.Kill()
	if m.cleanup != nil {
		m.cleanup()
	}
}
