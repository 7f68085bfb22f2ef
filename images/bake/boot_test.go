package bake_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// image is one image the release test bakes and the host it boots as.
type image struct {
	name, instance, host string
	// memory is the guest's memory in MiB.
	memory int
	// web and services are the image's roles.
	web, services bool
}

// releaseImages are every role image of dev and the web and services
// images of prod: what `release --instance dev,prod` bakes. prod's sizing
// gives PostgreSQL shared_buffers = 2GB: its services guest needs 3 GiB,
// or postgresql@15-main cannot map its shared memory and fails (the 4g
// search heap is not used here: the engine is a stand-in).
var releaseImages = []image{
	{name: "dev-web-services", instance: "dev", host: "invenio-dev01", memory: 2048, web: true, services: true},
	{name: "prod-web", instance: "prod", host: "invenio01-prod", memory: 1024, web: true},
	{name: "prod-services", instance: "prod", host: "invenio03-prod", memory: 3072, services: true},
}

// standIns are the stand-ins an image of the release has: the fixture
// application (its synopsis says STAND-IN) where the roles need the
// application, and the OpenSearch stand-in where they need a search engine.
func (im image) standIns() []string {
	var s []string
	if im.web {
		s = append(s, "invenio-app-tugraz")
	}
	if im.services {
		s = append(s, "opensearch")
	}
	return s
}

// bootOnlyEnv narrows TestReleaseImagesBoot while iterating: a
// comma-separated list of IMAGE or IMAGE/FIRMWARE (prod-web/bios) to bake
// and boot. Unset, every image boots with both firmwares and the OCI bake
// runs too.
const bootOnlyEnv = "INVENIO_INFRA_IMAGE_BOOT_ONLY"

// bootOnly returns the entries of bootOnlyEnv, or nil for all.
func bootOnly() []string {
	v := os.Getenv(bootOnlyEnv)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// selectedImages returns the images to bake and boot and their instances.
func selectedImages() ([]image, []string) {
	var ims []image
	var ins []string
	for _, im := range releaseImages {
		only := bootOnly()
		if only != nil && !slices.ContainsFunc(only, func(o string) bool { return strings.Split(o, "/")[0] == im.name }) {
			continue
		}
		ims = append(ims, im)
		if !slices.Contains(ins, im.instance) {
			ins = append(ins, im.instance)
		}
	}
	return ims, ins
}

// bootSelected reports whether the image boots with firmware fw.
func bootSelected(name string, fw vm.Firmware) bool {
	only := bootOnly()
	return only == nil || slices.Contains(only, name) || slices.Contains(only, name+"/"+string(fw))
}

// kernelBanner is the first line Debian's kernel prints on the serial
// console: GRUB found the root file system, read its configuration and
// started the kernel with console=ttyS0.
var kernelBanner = regexp.MustCompile(`Linux version \S+`)

// bootToKernel starts the image with firmware fw (no seed) and waits until
// the kernel prints its banner on the serial console, then powers it off:
// the firmware found the disk's boot code, GRUB its configuration on the
// root file system, and the kernel started. Whether the image then comes up
// with every role unit active is the pipeline's boot-test stage's proof
// (invenio-infra boot-test: seed applied, units active, the roles working
// together), which boots the same bake's images once.
func bootToKernel(t *testing.T, im image, fw vm.Firmware, image string, accel vm.Accel) time.Duration {
	dir := t.TempDir()
	m, err := vm.Launch(context.Background(), dir, vm.Spec{
		Disk: image, Firmware: fw, Net: vm.NetUser, MemoryMiB: im.memory, CPUs: 1,
	}, accel, nil)
	require.NoError(t, err)
	defer m.Close()
	defer func() {
		if t.Failed() {
			keepLog(t, filepath.Join(dir, "serial.log"), im.name+"-"+string(fw))
		}
	}()
	got, err := m.WaitFor(context.Background(), kernelBanner, kernelTimeout)
	require.NoError(t, err, "%s with %s: no kernel banner on the serial console", im.name, fw)
	t.Logf("%s %s: kernel started after %s", im.name, fw, got.After.Round(100*time.Millisecond))
	return got.After
}
