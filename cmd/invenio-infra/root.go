package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/spf13/cobra"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/progress"
	"gitlab.tugraz.at/invenio/invenio-infra/site"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	// SitePath is the site file; empty means the embedded default site.
	SitePath string
	// Quiet suppresses progress lines.
	Quiet bool
	// Progress is the progress format: text or json.
	Progress string

	log *slog.Logger
}

// logger returns the progress logger, writing to the command's standard error.
func (o *globalOptions) logger(cmd *cobra.Command) *slog.Logger {
	if o.log == nil {
		switch f, _ := progress.ParseFormat(o.Progress); {
		case o.Quiet:
			o.log = progress.Discard()
		default:
			o.log = progress.New(cmd.ErrOrStderr(), f)
		}
	}
	return o.log
}

// progress reports one step of long work, unless --quiet.
func (o *globalOptions) progress(cmd *cobra.Command, format string, a ...any) {
	o.logger(cmd).Info(fmt.Sprintf(format, a...))
}

// loadSite reads the site file, or returns the embedded default.
func (o *globalOptions) loadSite() (*site.Site, error) {
	if o.SitePath == "" {
		return site.Default(), nil
	}
	s, err := site.Load(o.SitePath)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, usageError{err}
	}
	return s, err
}

func newRoot() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "invenio-infra",
		Short: "Build an InvenioRDM deployment's packages, apt repository and VM images from a site file",
		Long: "invenio-infra turns one site file (YAML) describing an InvenioRDM deployment —\n" +
			"its instances, hosts and roles — into Debian packages per role, an apt\n" +
			"repository and VM images. Without --site it uses the embedded default site.",
		SilenceUsage:      true,
		SilenceErrors:     true,
		DisableAutoGenTag: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVarP(&g.SitePath, "site", "s", "", "site file (default: the embedded default site)")
	root.PersistentFlags().BoolVarP(&g.Quiet, "quiet", "q", false, "print no progress lines")
	root.PersistentFlags().StringVar(&g.Progress, "progress", "text", "progress format on standard error: text or json (one event per line)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if _, err := progress.ParseFormat(g.Progress); err != nil {
			return usageError{err}
		}
		return nil
	}
	root.AddCommand(
		newValidate(g),
		newPlan(g),
		newRender(g),
		newDiff(g),
		newPackages(g),
		newRepo(g),
		newKey(g),
		newSecrets(g), newSeed(g),
		newImage(g), newPush(g), newRelease(g), newBootTest(g),
		newApp(g),
		newInit(),
		newSchema(),
	)
	return root
}

// args wraps cobra's argument checks so that their errors exit with status 2.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}
