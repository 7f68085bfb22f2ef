package apppkg

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
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
