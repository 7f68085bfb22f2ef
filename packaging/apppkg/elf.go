package apppkg

import (
	"bytes"
	"debug/elf"
	"fmt"
	"path"
	"sort"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/packaging"
)

// debianArch maps ELF machines to Debian architectures.
var debianArch = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_386:     "i386",
	elf.EM_PPC64:   "ppc64el",
	elf.EM_S390:    "s390x",
	elf.EM_RISCV:   "riscv64",
}

// isELF reports whether b is an ELF file (a compiled module or program).
func isELF(b []byte) bool { return bytes.HasPrefix(b, []byte(elf.ELFMAG)) }

// architecture returns the Debian architecture of the tree's compiled
// files: "all" without any, an error when they are for different machines
// or one Debian has no architecture for.
func architecture(l *layout) (string, error) {
	arch, from := "all", ""
	for _, e := range l.entries {
		if !e.Mode.IsRegular() || !isELF(e.Body) {
			continue
		}
		f, err := elf.NewFile(bytes.NewReader(e.Body))
		if err != nil {
			return "", fmt.Errorf("%s: %w", e.src, err)
		}
		a, ok := debianArch[f.Machine]
		switch {
		case !ok:
			return "", fmt.Errorf("%s: compiled for %s, which no Debian architecture here runs", e.src, f.Machine)
		case from != "" && a != arch:
			return "", fmt.Errorf("%s: compiled for %s, but %s for %s: want one machine", e.src, a, from, arch)
		}
		arch, from = a, e.src
	}
	return arch, nil
}

// elfRunpath returns the run paths (DT_RUNPATH and DT_RPATH) an ELF file
// looks for its libraries in, joined by ":".
func elfRunpath(b []byte) string {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	var paths []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		v, _ := f.DynString(tag)
		paths = append(paths, v...)
	}
	return strings.Join(paths, ":")
}

// libcSonames are the C library's sonames (libc6, which every Debian
// system has): needing them asks nothing of the package's Depends.
var libcSonames = map[string]bool{
	"libc.so.6": true, "libm.so.6": true, "libpthread.so.0": true, "libdl.so.2": true, "librt.so.1": true,
	"libutil.so.1": true, "libresolv.so.2": true, "ld-linux-x86-64.so.2": true, "ld-linux-aarch64.so.1": true,
}

// NeededLibraries returns the shared libraries (sonames) that the compiled
// files of a package (from Spec) need and do not carry themselves, as
// wheels carry theirs in *.libs directories, sorted, the C library's left
// out: what the site names the Debian packages of with Options.Depends.
func NeededLibraries(sp packaging.Spec) []string {
	carried := map[string]bool{}
	needed := map[string]bool{}
	for _, f := range sp.Files {
		if !f.Mode.IsRegular() || !isELF(f.Body) {
			continue
		}
		carried[path.Base(f.Path)] = true
		ef, err := elf.NewFile(bytes.NewReader(f.Body))
		if err != nil {
			continue // Spec refuses such files
		}
		libs, _ := ef.ImportedLibraries()
		for _, l := range libs {
			needed[l] = true
		}
	}
	var out []string
	for l := range needed {
		if !carried[l] && !libcSonames[l] {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
