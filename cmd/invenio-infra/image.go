package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/images/bake"
	"gitlab.tugraz.at/invenio/invenio-infra/images/disk"
	"gitlab.tugraz.at/invenio/invenio-infra/release"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// bakeFlags are the image flags that image and release share.
type bakeFlags struct {
	Mirror         string
	SecurityMirror string
	Snapshot       bool
	Format         string
	StandIns       bool
	Compression    string
	Cache          string
	Kernel         string
}

func (f *bakeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Mirror, "mirror", "", "Debian mirror URI (default: the instance's, else the one in this machine's apt sources)")
	fl.StringVar(&f.SecurityMirror, "security-mirror", "", "Debian security archive URI, or \"none\" (default: the one in this machine's apt sources, if any)")
	fl.BoolVar(&f.Snapshot, "snapshot", false, "the mirror is a point-in-time snapshot: no -updates suite, no Valid-Until check")
	fl.StringVar(&f.Format, "format", string(bake.FormatDisk), "disk (raw and qcow2, BIOS and UEFI) or oci (an OCI image layout)")
	fl.BoolVar(&f.StandIns, "stand-ins", false, "install STAND-INs for what the image needs but no source provides (the application package, OpenSearch): for tests only")
	fl.StringVar(&f.Compression, "compression", disk.DefaultCompression, "qcow2 compression: zstd, zlib or none")
	fl.StringVar(&f.Kernel, "kernel", bake.DefaultKernel, "kernel package (linux-image-amd64 for hardware beyond virtual machines)")
	fl.StringVar(&f.Cache, "cache", "", "cache of base roots and packages (default: $"+bake.CacheEnv+"/images, else ~/.cache/invenio-infra/images)")
}

// options returns the bake options the flags set.
func (f *bakeFlags) options() (bake.Options, error) {
	format, err := bake.ParseFormat(f.Format)
	if err != nil {
		return bake.Options{}, usageError{err}
	}
	if _, err := disk.QemuImgConvertArgs("", "", f.Compression); err != nil {
		return bake.Options{}, usageError{fmt.Errorf("--compression: %w", err)}
	}
	epoch, err := release.ImageEpoch()
	if err != nil {
		return bake.Options{}, usageError{err}
	}
	// The build host's mirrors, read once here: a bake falls back to them
	// when neither the flags nor the instance name one.
	hostMirror, _ := site.HostMirror("/")
	hostSecurity, _ := site.HostSecurityMirror("/")
	return bake.Options{
		Mirror: f.Mirror, SecurityMirror: f.SecurityMirror, HostMirror: hostMirror, HostSecurityMirror: hostSecurity,
		Snapshot: f.Snapshot, Format: format, StandIns: f.StandIns, Compression: f.Compression,
		CacheDir: f.Cache, Epoch: epoch, Kernel: f.Kernel,
	}, nil
}

// imageOptions are the flags of image.
type imageOptions struct {
	Instance string
	Host     string
	Roles    []string
	Repo     string
	Out      string
	Name     string
	Bake     bakeFlags
	App      appFlags
}

func newImage(g *globalOptions) *cobra.Command {
	o := &imageOptions{}
	cmd := &cobra.Command{
		Use:   "image --instance NAME (--host NAME | --role ROLE) --repo REPO --out DIR",
		Short: "Bake a role image: Debian with the role's packages from the repository, as a disk or OCI image",
		Long: "image bakes a Debian image for one host (or a set of roles) of an instance:\n" +
			"a base root file system bootstrapped with mmdebstrap from the Debian mirror\n" +
			"(kernel, systemd, cloud-init, OpenSSH, chrony, unattended-upgrades and every\n" +
			"Debian package the roles need; cached while suite, mirror state and package\n" +
			"set stay the same), then the instance's keyring and role packages installed\n" +
			"with apt from REPO's suite, no daemon started (policy-rc.d), and everything\n" +
			"per-machine or secret scrubbed: no SSH host keys (made on first boot), an\n" +
			"empty machine-id, no passwords, no secrets file.\n\n" +
			"--format disk writes DIR/NAME.raw and DIR/NAME.qcow2: a GPT disk with a BIOS\n" +
			"boot partition, an EFI system partition and an ext4 root that grows to the\n" +
			"disk on first boot, made without loop devices or mounts. --format oci writes\n" +
			"the root as the OCI image layout DIR/NAME.oci (see `push`). Every image gets\n" +
			"DIR/NAME.manifest.json: installed packages with versions, the inputs, and the\n" +
			"sha256 of every output. Give the VM a seed (`invenio-infra seed`) to make it\n" +
			"a host. Needs root (mmdebstrap, chroot).\n\n" +
			"The application package comes from REPO's suite, or from --app-deb FILE, or\n" +
			"with --app-fixture the fixture application is built (at the suite's version)\n" +
			"and installed as that package (tests only). --stand-ins stands in for just\n" +
			"what is still missing.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Instance == "" || o.Repo == "" || o.Out == "" {
				return usageError{errors.New("--instance, --repo and --out are required")}
			}
			if (o.Host == "") == (len(o.Roles) == 0) {
				return usageError{errors.New("give either --host NAME or --role ROLE")}
			}
			if err := o.App.Check(); err != nil {
				return err
			}
			return o.run(cmd, g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Instance, "instance", "i", "", "instance (required)")
	f.StringVar(&o.Host, "host", "", "host whose roles the image gets")
	f.StringSliceVar(&o.Roles, "role", nil, "role(s) the image gets: "+site.JoinRoles(site.Roles(), ", "))
	f.StringVarP(&o.Repo, "repo", "r", "", "apt repository that `repo` wrote (required)")
	f.StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	f.StringVar(&o.Name, "name", "", "image name (default INSTANCE-HOST or INSTANCE-ROLES, e.g. prod-web)")
	o.Bake.register(cmd)
	o.App.register(cmd, "on images that need it, instead of the repository's")
	return cmd
}

// run bakes the image.
func (o *imageOptions) run(cmd *cobra.Command, g *globalOptions) error {
	s, err := g.loadSite()
	if err != nil {
		return err
	}
	in, err := s.FindInstance(o.Instance)
	if err != nil {
		return err
	}
	bo, err := o.Bake.options()
	if err != nil {
		return err
	}
	bo.Site, bo.Instance, bo.Host, bo.Repo, bo.Out, bo.Name, bo.Log = s, in.Name, o.Host, o.Repo, o.Out, o.Name, g.logger(cmd)
	return release.BakeImage(cmd.Context(), bo, o.Roles, o.App.App)
}
