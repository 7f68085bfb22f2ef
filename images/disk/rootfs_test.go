package disk_test

import (
	"testing"

	"gitlab.tugraz.at/invenio/invenio-infra/testing/debroot"
)

// bootRoot is the Debian 12 root the boot tests assemble into disks: the
// smallest set that boots under QEMU and applies a cloud-init seed (kernel,
// init, udev, cloud-init with growpart, ifupdown for the static network
// config, sshd so that host keys are something the image must not carry).
var bootRoot = debroot.Options{
	Variant: "apt",
	Packages: []string{
		"linux-image-amd64", "initramfs-tools", "systemd-sysv", "udev",
		"cloud-init", "cloud-guest-utils", "ifupdown", "iproute2",
		"openssh-server",
	},
}

func TestWarmRoot(t *testing.T) { debroot.Root(t, bootRoot) }
