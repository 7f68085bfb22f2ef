package packaging

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/atomicdir"
)

// FileName is the conventional file name of s's package at version v,
// name_version_all.deb; like dpkg-name it leaves out the epoch.
func FileName(s Spec, v Version) string {
	return fmt.Sprintf("%s_%s_all.deb", s.Name, v.FileVersion())
}

var instanceRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// job is one package to build: its spec and where it goes below the output
// directory.
type job struct {
	spec Spec
	rel  string
}

// WriteAll builds the packages of every instance (instance name → specs)
// into dir/<instance>/FileName(spec, o.Version), concurrently on
// GOMAXPROCS workers, and returns the written paths, sorted.
//
// dir is written as a whole: the packages go into a new directory next to
// it, which replaces dir only when every package is built. On any error dir
// is left as it was. Because the old dir is discarded, WriteAll refuses to
// replace a directory holding anything but instance directories of .deb
// files.
func WriteAll(dir string, instances map[string][]Spec, o BuildOptions) ([]string, error) {
	jobs, err := planJobs(instances, o.Version)
	if err != nil {
		return nil, err
	}
	if err := checkReplaceable(dir); err != nil {
		return nil, err
	}
	err = atomicdir.Write(dir, func(tmp string) error {
		for inst := range instances {
			if err := os.Mkdir(filepath.Join(tmp, inst), 0o755); err != nil {
				return err
			}
		}
		return runJobs(tmp, dir, jobs, o)
	})
	if err != nil {
		return nil, fmt.Errorf("writing packages to %s: %w", dir, err)
	}
	paths := make([]string, len(jobs))
	for i, j := range jobs {
		paths[i] = filepath.Join(dir, j.rel)
	}
	return paths, nil
}

// planJobs lists the packages to build in a fixed order and checks that
// instance names are usable as directory names and file names are unique.
func planJobs(instances map[string][]Spec, v Version) ([]job, error) {
	var jobs []job
	seen := map[string]bool{}
	for inst, specs := range instances {
		if !instanceRe.MatchString(inst) {
			return nil, fmt.Errorf("instance name %q: want lower-case letters, digits, '-' and '_'", inst)
		}
		for _, s := range specs {
			rel := filepath.Join(inst, FileName(s, v))
			if seen[rel] {
				return nil, fmt.Errorf("instance %s has two packages named %s", inst, s.Name)
			}
			seen[rel] = true
			jobs = append(jobs, job{spec: s, rel: rel})
		}
	}
	slices.SortFunc(jobs, func(a, b job) int { return strings.Compare(a.rel, b.rel) })
	return jobs, nil
}

// runJobs builds the jobs into tmp on a pool of workers. After the first
// failure no new package is started; every failure is reported.
func runJobs(tmp, dir string, jobs []job, o BuildOptions) error {
	errs := make([]error, len(jobs))
	next := make(chan int)
	var failed atomic.Bool
	var progress sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range next {
				if failed.Load() {
					continue
				}
				if errs[i] = o.err(); errs[i] != nil {
					failed.Store(true)
					continue
				}
				if errs[i] = buildFile(filepath.Join(tmp, jobs[i].rel), jobs[i].spec, o); errs[i] != nil {
					failed.Store(true)
					continue
				}
				if o.Progress != nil {
					progress.Lock()
					o.Progress(filepath.Join(dir, jobs[i].rel))
					progress.Unlock()
				}
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// buildFile builds one package into the file at path.
func buildFile(path string, s Spec, o BuildOptions) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	err = Build(w, s, o)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// checkReplaceable refuses an existing dir that holds anything but
// instance directories of .deb files, so that a mistyped --out never
// deletes someone's work.
func checkReplaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking output directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := checkInstanceDir(filepath.Join(dir, e.Name()), e); err != nil {
			return fmt.Errorf("refusing to replace %s: %w; remove it or choose another output directory", dir, err)
		}
	}
	return nil
}

// checkInstanceDir checks that one entry of an old output directory is a
// directory of .deb files.
func checkInstanceDir(path string, e os.DirEntry) error {
	if !e.IsDir() {
		return fmt.Errorf("%s is not an instance directory", path)
	}
	debs, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, d := range debs {
		if !d.Type().IsRegular() || filepath.Ext(d.Name()) != ".deb" {
			return fmt.Errorf("%s is not a .deb file", filepath.Join(path, d.Name()))
		}
	}
	return nil
}
