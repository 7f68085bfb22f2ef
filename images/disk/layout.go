package disk

import (
	"fmt"
	"strings"
)

// Sizes and positions of the disk layout. Everything is aligned to MiB.
const (
	// SectorSize is the logical sector size of the images.
	SectorSize = 512
	// MiB is a mebibyte.
	MiB = 1 << 20
	// BIOSBootSize is the size of the BIOS boot partition that holds GRUB's core.img.
	BIOSBootSize = 1 * MiB
	// DefaultESPSize is the size of the EFI system partition.
	DefaultESPSize = 100 * MiB
	// gptReserve is what the primary (at the start) and the backup (at the
	// end) GPT get: 34 and 33 sectors, rounded up to the alignment.
	gptReserve = 1 * MiB
)

// GPT partition type GUIDs.
const (
	TypeBIOSBoot = "21686148-6449-6E6F-744E-656564454649"
	TypeESP      = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	// TypeRootX86_64 is the Discoverable Partitions "root (x86-64)" type.
	TypeRootX86_64 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
)

// Partition is one GPT partition of the image.
type Partition struct {
	// Number is the partition number (1-based).
	Number int
	// Name is the GPT partition name.
	Name string
	// Type is the GPT partition type GUID.
	Type string
	// UUID is the unique partition GUID.
	UUID string
	// Start and Size are in bytes.
	Start, Size int64
}

// StartLBA is the partition's first sector.
func (p Partition) StartLBA() int64 { return p.Start / SectorSize }

// Layout is the partition table of an image: p1 BIOS boot, p2 ESP, p3 root.
// The root partition is last so that it can grow into a bigger disk.
type Layout struct {
	// DiskGUID is the GPT disk GUID.
	DiskGUID string
	// Size is the size of the whole image in bytes.
	Size int64
	// Partitions are BIOS boot, ESP and root, in this order.
	Partitions []Partition
}

// NewLayout returns the layout for an ESP and a root file system of the
// given sizes (rounded up to MiB), with GUIDs derived from seed.
func NewLayout(seed string, espSize, rootSize int64) Layout {
	espSize, rootSize = roundUp(espSize, MiB), roundUp(rootSize, MiB)
	parts := []Partition{
		{Number: 1, Name: "bios", Type: TypeBIOSBoot, Size: BIOSBootSize},
		{Number: 2, Name: "esp", Type: TypeESP, Size: espSize},
		{Number: 3, Name: "root", Type: TypeRootX86_64, Size: rootSize},
	}
	off := int64(gptReserve)
	for i := range parts {
		parts[i].UUID = DeriveUUID(seed, parts[i].Name+"-part")
		parts[i].Start = off
		off += parts[i].Size
	}
	return Layout{DiskGUID: DeriveUUID(seed, "disk"), Size: off + gptReserve, Partitions: parts}
}

// BIOSBoot returns the BIOS boot partition, which holds GRUB's core.img.
func (l Layout) BIOSBoot() Partition { return l.Partitions[0] }

// ESP returns the EFI system partition.
func (l Layout) ESP() Partition { return l.Partitions[1] }

// Root returns the root partition.
func (l Layout) Root() Partition { return l.Partitions[2] }

// SfdiskScript returns the sfdisk(8) input that writes this partition table.
func (l Layout) SfdiskScript() string {
	var b strings.Builder
	fmt.Fprintf(&b, "label: gpt\nlabel-id: %s\nunit: sectors\nsector-size: %d\nfirst-lba: %d\n\n",
		strings.ToUpper(l.DiskGUID), SectorSize, gptReserve/SectorSize)
	for _, p := range l.Partitions {
		fmt.Fprintf(&b, "start=%d, size=%d, type=%s, uuid=%s, name=%q\n",
			p.Start/SectorSize, p.Size/SectorSize, p.Type, strings.ToUpper(p.UUID), p.Name)
	}
	return b.String()
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
