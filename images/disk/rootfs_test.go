package disk_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.tugraz.at/invenio/invenio-infra/images/scrub"
	"gitlab.tugraz.at/invenio/invenio-infra/images/seed"
	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
)

// bootRoot is the Debian 12 root the boot tests assemble into disks: the
// smallest set that boots under QEMU and applies a cloud-init seed (kernel,
// init, udev, cloud-init with growpart, netplan for the static network
// config, sshd so that host keys are something the image must not carry),
// and powers off on the ACPI power button (systemd-logind, which needs dbus;
// systemd only recommends it, and mmdebstrap installs no recommends).
var bootRoot = debroot.Options{
	Variant: "apt",
	Packages: []string{
		"linux-image-amd64", "initramfs-tools", "systemd-sysv", "udev", "dbus",
		"cloud-init", "cloud-guest-utils", "netplan.io", "iproute2",
		"openssh-server",
	},
}

// checkScript runs in cloud-init's final stage on every boot (after the
// deferred write_files) and reports on the console what the seed did. It
// prints a hash of the secrets file, never its content.
const checkScript = `#!/bin/sh
# Test only (invenio-infra images/disk boot test): report what the seed did.
exec >/dev/console 2>&1
c() { echo "INVENIO-CHECK $*"; }
c "hostname=$(hostname)"
f=/etc/invenio/secrets.env
if [ -e $f ]; then
	c "secrets=$(stat -c '%a %U %G' $f) sha256=$(sha256sum <$f | cut -d' ' -f1)"
else
	c "secrets=missing"
fi
c "addr=$(ip -o -4 addr show scope global | awk '{print $2 "/" $4}' | tr '\n' ' ')"
c "rootsize=$(df -B1M --output=size / | tail -n 1 | tr -d ' ')"
c "hostkeys=$(ls /etc/ssh/ssh_host_*_key 2>/dev/null | wc -l)"
c "machineid=$(wc -c </etc/machine-id)"
c "authorized=$(wc -l </home/debian/.ssh/authorized_keys 2>/dev/null || echo 0)"
c "failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
c "done"
`

// prepareRoot turns a copy of bootRoot into what a role image would be for
// these tests: the invenio group (invenio-common's sysusers), the cloud-init
// settings images need, systemd-networkd on (netplan renders to it), the
// check script, and no per-machine data.
func prepareRoot(t *testing.T, root string) {
	t.Helper()
	_, err := debroot.Chroot(t, root, "groupadd", "--system", "invenio")
	require.NoError(t, err)
	_, err = debroot.Chroot(t, root, "systemctl", "enable", "systemd-networkd.service")
	require.NoError(t, err)
	write(t, filepath.Join(root, "etc/cloud/cloud.cfg.d/90-invenio-infra.cfg"), seed.ImageCloudConfig, 0o644)
	write(t, filepath.Join(root, "var/lib/cloud/scripts/per-boot/zz-invenio-check"), checkScript, 0o755)
	require.NoError(t, scrub.Root(root))
}

func write(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), mode))
	require.NoError(t, os.Chmod(path, mode))
}
