package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/need"
)

func TestArgsBIOS(t *testing.T) {
	a, err := Args(Config{
		Disk: "/w/disk.qcow2", Seed: "/w/seed.img", Accel: TCG,
		SerialLog: "/w/serial.log", QMPSocket: "/tmp/vm-1/qmp",
	})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"-machine", "q35", "-accel", "tcg", "-m", "1024", "-smp", "2", "-cpu", "qemu64,-svm",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-drive", "if=virtio,format=qcow2,file=/w/disk.qcow2",
		"-drive", "if=virtio,format=raw,readonly=on,file=/w/seed.img",
		"-device", "virtio-rng-pci",
		"-chardev", "stdio,id=serial0,signal=off,logfile=/w/serial.log,logappend=off",
		"-serial", "chardev:serial0",
		"-qmp", "unix:/tmp/vm-1/qmp,server=on,wait=off",
	}, a)
}

func TestArgsUEFIKVMNet(t *testing.T) {
	a, err := Args(Config{
		Disk: "/w/a,b.raw", Firmware: UEFI, OVMFCode: "/usr/share/OVMF/OVMF_CODE_4M.fd", OVMFVars: "/w/VARS.fd",
		Accel: KVM, MemoryMiB: 2048, CPUs: 1, Net: NetUser,
		SerialLog: "/w/s.log", QMPSocket: "/w/q", Extra: []string{"-snapshot"},
	})
	require.NoError(t, err)
	s := strings.Join(a, " ")
	assert.Contains(t, s, "-accel kvm -m 2048 -smp 1 -cpu host ")
	assert.Contains(t, s, "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd -drive if=pflash,format=raw,unit=1,file=/w/VARS.fd ")
	assert.Contains(t, s, "-drive if=virtio,format=raw,file=/w/a,,b.raw ", "commas are escaped")
	assert.Contains(t, s, "-nic user,model=virtio-net-pci,restrict=on ")
	assert.NotContains(t, s, "readonly=on,file=/w/seed")
	assert.Equal(t, "-snapshot", a[len(a)-1])
	assert.Less(t, strings.Index(s, "pflash"), strings.Index(s, "if=virtio"), "firmware before disks")
}

func TestArgsErrors(t *testing.T) {
	_, err := Args(Config{Firmware: UEFI, Accel: "hvf", Net: "tap"})
	require.Error(t, err)
	for _, want := range []string{"no Disk", `accelerator "hvf"`, "UEFI needs OVMFCode", `network "tap"`, "no SerialLog"} {
		assert.ErrorContains(t, err, want)
	}
	_, err = Args(Config{Disk: "d", Accel: TCG, Firmware: "coreboot", SerialLog: "s", QMPSocket: "q"})
	assert.ErrorContains(t, err, `firmware "coreboot"`)
}

func TestChoose(t *testing.T) {
	ok := func(context.Context) error { return nil }
	hangs := func(context.Context) error { return errors.New("a probe guest under KVM did not finish POST in 10s") }
	ctx := context.Background()
	assert.Equal(t, Choice{KVM, "probe guests ran under KVM: SeaBIOS POST and Linux to its panic"}, choose(ctx, "", ok))
	assert.Equal(t, Choice{TCG, "a probe guest under KVM did not finish POST in 10s"}, choose(ctx, "auto", hangs))
	assert.Equal(t, Choice{KVM, "INVENIO_INFRA_ACCEL=kvm"}, choose(ctx, "kvm", hangs), "the override wins")
	assert.Equal(t, Choice{TCG, "INVENIO_INFRA_ACCEL=tcg"}, choose(ctx, "tcg", ok))
	c := choose(ctx, "fast", ok)
	assert.Equal(t, TCG, c.Accel)
	assert.Contains(t, c.Reason, `"fast" is not kvm, tcg or auto`)
	assert.Equal(t, "tcg (INVENIO_INFRA_ACCEL=tcg)", Choice{TCG, "INVENIO_INFRA_ACCEL=tcg"}.String())
}

func TestProbeArgs(t *testing.T) {
	assert.Equal(t, []string{
		"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "64",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-chardev", "file,id=dbg,path=/t/debugcon.log",
		"-device", "isa-debugcon,iobase=0x402,chardev=dbg",
	}, ProbeArgs("/t/debugcon.log"))
}

func TestKernelProbeArgs(t *testing.T) {
	assert.Equal(t, []string{
		"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "256",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-chardev", "file,id=serial0,path=/t/probe.log", "-serial", "chardev:serial0",
		"-kernel", "/k/vmlinuz-6.1", "-append", "console=ttyS0 panic=-1",
	}, KernelProbeArgs("/k/vmlinuz-6.1", "/t/probe.log"))
}

// TestProbeOnThisHost runs the real choice and logs it.
func TestProbeOnThisHost(t *testing.T) {
	if _, err := os.Stat("/usr/bin/" + Binary); err != nil {
		t.Skip("no QEMU")
	}
	t.Logf("accelerator: %s", ChooseAccel(context.Background()))
}

func TestOverlayArgs(t *testing.T) {
	assert.Equal(t, []string{"create", "-q", "-f", "qcow2", "-b", "/a/disk.raw", "-F", "raw", "/w/o.qcow2"}, OverlayArgs("/a/disk.raw", "/w/o.qcow2", 0))
	assert.Equal(t, []string{"create", "-q", "-f", "qcow2", "-b", "/a/d.QCOW2", "-F", "qcow2", "/w/o.qcow2", "4294967296"}, OverlayArgs("/a/d.QCOW2", "/w/o.qcow2", 4<<30))
}

// fakeQEMU replaces QEMU with a script for the duration of the test.
func fakeQEMU(t *testing.T, script string) Config {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "qemu")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755))
	old := qemuBinary
	qemuBinary = p
	t.Cleanup(func() { qemuBinary = old })
	return Config{Disk: "d.raw", Accel: TCG, SerialLog: filepath.Join(dir, "serial.log"), QMPSocket: filepath.Join(dir, "qmp")}
}

func TestWaitFor(t *testing.T) {
	c := fakeQEMU(t, `echo "Booting"; sleep 0.2; printf 'Debian GNU/Linux 12 host1 ttyS0\r\n\r\nhost1 login: '; sleep 30`)
	var echo strings.Builder
	m, err := Start(context.Background(), c, &echo)
	require.NoError(t, err)
	defer m.Close()

	g, err := m.WaitFor(context.Background(), regexp.MustCompile(`(\S+) login:`), 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"host1 login:", "host1"}, g.Groups)
	assert.Greater(t, g.After, 150*time.Millisecond)

	// Earlier output still matches: WaitFor looks at all of it.
	_, err = m.WaitFor(context.Background(), regexp.MustCompile(`Booting`), time.Second)
	require.NoError(t, err)

	_, err = m.WaitFor(context.Background(), regexp.MustCompile(`never`), 300*time.Millisecond)
	require.Error(t, err)
	assert.ErrorContains(t, err, "did not appear on the console within 300ms")
	assert.ErrorContains(t, err, "host1 login:", "the error shows the console's tail")

	// No QMP socket: Shutdown kills it and says so.
	err = m.Shutdown(200 * time.Millisecond)
	assert.ErrorContains(t, err, "killed")
	assert.Contains(t, m.Console(), "host1 login: ")
	assert.Equal(t, m.Console(), echo.String(), "echo gets a live copy")
}

func TestWaitForExit(t *testing.T) {
	c := fakeQEMU(t, `echo "Kernel panic - not syncing"; echo "qemu: boom" >&2; exit 1`)
	m, err := Start(context.Background(), c, nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.WaitFor(context.Background(), regexp.MustCompile(`login:`), 5*time.Second)
	require.ErrorIs(t, err, ErrExited)
	assert.ErrorContains(t, err, "Kernel panic")
	assert.ErrorContains(t, err, "qemu: boom")
	assert.ErrorContains(t, m.Shutdown(time.Second), "exit status 1")
}

// fakeQMP serves one QMP conversation on a socket and records what it got;
// reply answers the second command.
func fakeQMP(t *testing.T, reply string) (string, <-chan []string) {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "qmp")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	got := make(chan []string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		fmt.Fprintln(conn, `{"QMP": {"version": {}, "capabilities": []}}`)
		var lines []string
		for _, answer := range []string{`{"return": {}}`, `{"event": "POWERDOWN"}` + "\n" + reply} {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			lines = append(lines, strings.TrimSpace(line))
			fmt.Fprintln(conn, answer)
		}
		got <- lines
	}()
	return sock, got
}

func shortTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "qmp-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestQMPCommand(t *testing.T) {
	sock, got := fakeQMP(t, `{"return": {}}`)
	require.NoError(t, qmpCommand(sock, "system_powerdown"))
	assert.Equal(t, []string{`{"execute":"qmp_capabilities"}`, `{"execute":"system_powerdown"}`}, <-got)

	sock, got = fakeQMP(t, `{"return": {}}`)
	require.NoError(t, qmpCommand(sock, ctrlAltDel))
	lines := <-got
	assert.JSONEq(t, ctrlAltDel, lines[1])

	sock, _ = fakeQMP(t, `{"error": {"class": "CommandNotFound", "desc": "no such command"}}`)
	assert.ErrorContains(t, qmpCommand(sock, "nope"), "qmp: nope: CommandNotFound: no such command")

	assert.ErrorContains(t, qmpCommand(filepath.Join(t.TempDir(), "none"), "quit"), "qmp:")
}

// TestOverlayRelativeBase makes an overlay of a base given by a relative
// path from another directory: qemu-img must find the base.
func TestOverlayRelativeBase(t *testing.T) {
	need.Tool(t, "qemu-img")
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile("base.raw", make([]byte, 1<<20), 0o644))
	require.NoError(t, os.Mkdir("vm", 0o755))
	require.NoError(t, Overlay(context.Background(), "base.raw", filepath.Join("vm", "disk.qcow2"), 0))
	out, err := exec.Command("qemu-img", "info", "--backing-chain", filepath.Join(dir, "vm", "disk.qcow2")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), filepath.Join(dir, "base.raw"))
}
