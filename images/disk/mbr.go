package disk

import (
	"encoding/binary"
	"fmt"
)

// Offsets in GRUB's i386-pc boot.img (grub/include/grub/i386/pc/boot.h) and
// the MBR. These byte edits are what grub-bios-setup does, without ever
// opening a block device.
const (
	bpbStart       = 0x03  // BIOS parameter block, kept from the disk
	bpbEnd         = 0x5a  // (exclusive)
	kernelSector   = 0x5c  // u64 LE: LBA of core.img's first sector
	bootDrive      = 0x64  // u8: 0xff = use the drive the BIOS booted from
	driveCheck     = 0x66  // u16: 0x9090 (two NOPs) skips the "is it a hard disk" check
	diskSigStart   = 0x1b8 // disk signature, reserved word and partition table, kept
	partTableEnd   = 0x1fe // (exclusive)
	bootSignature  = 0x1fe // 0x55 0xaa
	blocklistSize  = 12    // one diskboot.img blocklist entry: u64 start, u16 len, u16 segment
	coreLoadSegOff = 0x820 // GRUB_BOOT_I386_PC_KERNEL_SEG + 0x20: where diskboot loads the rest
)

// BootSector returns the new first sector of a disk whose current first
// sector (the protective MBR sfdisk wrote) is current: GRUB's boot.img with
// the disk's BPB area, disk signature and partition table kept, pointing at
// core.img at coreLBA, booting from the BIOS boot drive.
func BootSector(bootImg, current []byte, coreLBA uint64) ([]byte, error) {
	if len(bootImg) != SectorSize {
		return nil, fmt.Errorf("boot.img is %d bytes, want %d", len(bootImg), SectorSize)
	}
	if len(current) != SectorSize {
		return nil, fmt.Errorf("current boot sector is %d bytes, want %d", len(current), SectorSize)
	}
	s := make([]byte, SectorSize)
	copy(s, bootImg)
	copy(s[bpbStart:bpbEnd], current[bpbStart:bpbEnd])
	copy(s[diskSigStart:partTableEnd], current[diskSigStart:partTableEnd])
	binary.LittleEndian.PutUint64(s[kernelSector:], coreLBA)
	s[bootDrive] = 0xff
	s[driveCheck], s[driveCheck+1] = 0x90, 0x90
	s[bootSignature], s[bootSignature+1] = 0x55, 0xaa
	return s, nil
}

// PatchCore fills the first blocklist entry of core.img (the last 12 bytes
// of its first sector, read by diskboot.img) so that it loads the rest of
// core.img from the sectors after coreLBA. core is changed in place.
func PatchCore(core []byte, coreLBA uint64) error {
	if len(core) < 2*SectorSize {
		return fmt.Errorf("core.img is %d bytes; want at least two sectors", len(core))
	}
	sectors := (len(core) + SectorSize - 1) / SectorSize
	if sectors-1 > 0xffff {
		return fmt.Errorf("core.img has %d sectors; a blocklist entry holds at most %d", sectors, 0xffff+1)
	}
	e := core[SectorSize-blocklistSize : SectorSize]
	binary.LittleEndian.PutUint64(e[0:], coreLBA+1)
	binary.LittleEndian.PutUint16(e[8:], uint16(sectors-1))
	if binary.LittleEndian.Uint16(e[10:]) == 0 {
		binary.LittleEndian.PutUint16(e[10:], coreLoadSegOff)
	}
	return nil
}
