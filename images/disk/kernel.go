package disk

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// BootEntries returns the menu entries for the kernels installed in root.
//
// When the kernel packages maintain the /vmlinuz and /initrd.img symlinks
// (Debian's default, do_symlinks in /etc/kernel-img.conf), the entries boot
// through them, so grub.cfg stays right when apt installs a newer kernel;
// /vmlinuz.old becomes a second entry. Otherwise the entry names the newest
// /boot/vmlinuz-VERSION and its /boot/initrd.img-VERSION directly.
func BootEntries(root string) ([]BootEntry, error) {
	if e, ok := linkEntry(root, "", "Debian GNU/Linux"); ok {
		entries := []BootEntry{e}
		if old, ok := linkEntry(root, ".old", "Debian GNU/Linux (previous kernel)"); ok {
			entries = append(entries, old)
		}
		return entries, nil
	}
	v, err := newestKernel(root)
	if err != nil {
		return nil, err
	}
	e := BootEntry{Title: "Debian GNU/Linux " + v, Kernel: "/boot/vmlinuz-" + v}
	if exists(filepath.Join(root, "boot", "initrd.img-"+v)) {
		e.Initrd = "/boot/initrd.img-" + v
	}
	return []BootEntry{e}, nil
}

// linkEntry returns the entry for /vmlinuz<suffix> and /initrd.img<suffix>
// when both are symlinks that resolve inside root.
func linkEntry(root, suffix, title string) (BootEntry, bool) {
	k, i := "/vmlinuz"+suffix, "/initrd.img"+suffix
	if !resolvesInRoot(root, k) || !resolvesInRoot(root, i) {
		return BootEntry{}, false
	}
	return BootEntry{Title: title, Kernel: k, Initrd: i}, true
}

// resolvesInRoot reports whether the symlink p (absolute within root) points
// at a regular file of root through a relative target (GRUB resolves
// symlinks within the file system, so an absolute target would do too, but
// the kernel packages write relative ones).
func resolvesInRoot(root, p string) bool {
	target, err := os.Readlink(filepath.Join(root, p))
	if err != nil {
		return false
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	fi, err := os.Stat(filepath.Join(root, filepath.Clean(target)))
	return err == nil && fi.Mode().IsRegular()
}

// newestKernel returns the VERSION of the newest /boot/vmlinuz-VERSION.
func newestKernel(root string) (string, error) {
	paths, err := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if err != nil {
		return "", err
	}
	var versions []string
	for _, p := range paths {
		versions = append(versions, strings.TrimPrefix(filepath.Base(p), "vmlinuz-"))
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("no kernel in %s/boot (want vmlinuz-VERSION; install linux-image-amd64 into the root)", root)
	}
	slices.SortFunc(versions, compareVersions)
	return versions[len(versions)-1], nil
}

// compareVersions orders kernel versions naturally: runs of digits compare
// as numbers ("6.1.0-18" > "6.1.0-9"), everything else byte-wise.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		ra, restA := nextRun(a)
		rb, restB := nextRun(b)
		if c := compareRun(ra, rb); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	return len(a) - len(b)
}

func nextRun(s string) (string, string) {
	digit := unicode.IsDigit(rune(s[0]))
	i := 1
	for i < len(s) && unicode.IsDigit(rune(s[i])) == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareRun(a, b string) int {
	if unicode.IsDigit(rune(a[0])) && unicode.IsDigit(rune(b[0])) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return len(a) - len(b)
		}
	}
	return strings.Compare(a, b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
