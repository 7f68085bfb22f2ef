package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/boottest"
	vm "gitlab.tugraz.at/invenio/invenio-infra/vm"
)

// bootTestOptions are the flags of boot-test.
type bootTestOptions struct {
	Instance    string
	Images      string
	Report      string
	Logs        string
	Work        string
	Accel       string
	Firmware    string
	CPUs        []string
	Budgets     []string
	BootTimeout time.Duration
	NoFailover  bool
	NoReboot    bool
	UpgradeTo   string
	UpgradeSite string
}

func newBootTest(g *globalOptions) *cobra.Command {
	o := &bootTestOptions{}
	cmd := &cobra.Command{
		Use:   "boot-test --instance NAME [--images DIR] [--report FILE]",
		Short: "Boot an instance's role images in QEMU and check every role through the real request path",
		Long: "boot-test boots every host of the instance from its role image (DIR/INSTANCE-ROLES.qcow2,\n" +
			"as `release` bakes them) with a cloud-init seed made for the run, on a network\n" +
			"namespace it creates (a bridge and a tap device per VM; the test client, an\n" +
			"HAProxy standing in for the load balancer, a name server and an SMTP sink\n" +
			"standing in for the smarthost live there too; nothing is sent anywhere else),\n" +
			"and checks, from inside the guests (SSH, the host key checked against the\n" +
			"fingerprints on the serial console) and from outside:\n\n" +
			"  every host   ready within its role's budget, every role unit active, none failed\n" +
			"  services     PostgreSQL (scram, app role from web hosts only), Redis (auth),\n" +
			"               RabbitMQ (app user on its vhost, guest refused), Exim (no open relay),\n" +
			"               the search engine's health (skipped with the reason for a stand-in)\n" +
			"  web          /ping and /api/ping over TLS on :8080, and through the load balancer;\n" +
			"               a record in PostgreSQL, a Celery task round trip, beat on one host,\n" +
			"               shared storage across web hosts, mail relayed to the smarthost\n" +
			"  instance     the services host rebooted: the web tier recovers untouched;\n" +
			"               a web host powered off: requests keep succeeding (failed ones counted)\n" +
			"  upgrade      with --upgrade-to: every host upgraded with apt-get upgrade while\n" +
			"               requests flow (see the README's Boot tests)\n\n" +
			"One line per check goes to standard output, the JUnit report to --report and\n" +
			"each VM's serial console log beside it. The web images must carry an\n" +
			"application (`release --app-fixture` for tests). Needs root (network\n" +
			"namespace, tap devices) and qemu-system-x86_64; KVM is used when a probe shows\n" +
			"guests make progress under it, else TCG (--accel overrides). Exits 1 when a\n" +
			"check failed.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			bo, err := o.options()
			if err != nil {
				return usageError{err}
			}
			s, err := g.loadSite()
			if err != nil {
				return err
			}
			if _, err := s.SelectInstances([]string{o.Instance}); err != nil {
				return err
			}
			bo.Site, bo.Out, bo.Log = s, cmd.OutOrStdout(), g.logger(cmd)
			if o.UpgradeSite != "" {
				if bo.UpgradeSite, err = (&globalOptions{SitePath: o.UpgradeSite}).loadSite(); err != nil {
					return err
				}
			}
			res, err := boottest.Run(cmd.Context(), bo)
			for _, f := range res.Figures {
				fmt.Fprintln(cmd.OutOrStdout(), "figure:", f)
			}
			if res.Duration > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "boot-test %s: %d passed, %d failed, %d skipped in %.1fs (%s)\n",
					o.Instance, res.Passed, res.Failed, res.Skipped, res.Duration.Seconds(), res.Accel)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Instance, "instance", "i", "", "instance to boot (required)")
	f.StringVar(&o.Images, "images", "out/images", "directory of the role images")
	f.StringVar(&o.Report, "report", "", "JUnit XML report file (serial logs go beside it)")
	f.StringVar(&o.Logs, "logs", "", "directory for the serial console logs (default: the report's name without .xml)")
	f.StringVar(&o.Work, "work", "", "keep the VMs' overlays and seeds in this directory (default: a temporary one, removed)")
	f.StringVar(&o.Accel, "accel", "", "accelerator: kvm or tcg (default: probe)")
	f.StringVar(&o.Firmware, "firmware", "bios", "firmware: bios (SeaBIOS) or uefi (OVMF)")
	f.StringArrayVar(&o.CPUs, "cpus", nil, "virtual CPUs of a role's guests ROLE=N; repeatable (default: web=1, services=2)")
	f.StringArrayVar(&o.Budgets, "budget", nil, "power-on-to-ready budget ROLE=DURATION, e.g. web=40s; repeatable (default: web=40s, services=60s)")
	f.DurationVar(&o.BootTimeout, "boot-timeout", 20*time.Minute, "longest wait for a guest's first boot (a role's longer --budget is waited for)")
	f.BoolVar(&o.NoFailover, "no-failover", false, "leave out the failover check")
	f.BoolVar(&o.NoReboot, "no-reboot", false, "leave out the services host's reboot")
	f.StringVar(&o.UpgradeTo, "upgrade-to", "", "release N+1's output directory (`release --out`, same signing key): upgrade the booted hosts to its repository one by one while requests flow, and check")
	f.StringVar(&o.UpgradeSite, "upgrade-site", "", "the site file release N+1 was built from (default: --site), for the diff check")
	return cmd
}

// options checks the flags and turns them into boottest.Options.
func (o *bootTestOptions) options() (boottest.Options, error) {
	if o.Instance == "" {
		return boottest.Options{}, errors.New("--instance is required")
	}
	bo := boottest.Options{
		Instance: o.Instance, Images: o.Images, Report: o.Report, LogDir: o.Logs, Work: o.Work,
		BootTimeout: o.BootTimeout, NoFailover: o.NoFailover, NoReboot: o.NoReboot, UpgradeTo: o.UpgradeTo,
	}
	switch a := vm.Accel(o.Accel); a {
	case "", vm.KVM, vm.TCG:
		bo.Accel = a
	default:
		return bo, fmt.Errorf("--accel %q: want kvm or tcg", o.Accel)
	}
	switch fw := vm.Firmware(o.Firmware); fw {
	case vm.BIOS, vm.UEFI:
		bo.Firmware = fw
	default:
		return bo, fmt.Errorf("--firmware %q: want bios or uefi", o.Firmware)
	}
	var err error
	if bo.Budgets, err = boottest.ParseBudgets(o.Budgets); err != nil {
		return bo, err
	}
	bo.CPUs, err = boottest.ParseCPUs(o.CPUs)
	return bo, err
}
