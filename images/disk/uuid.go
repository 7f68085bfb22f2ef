package disk

import (
	"crypto/sha256"
	"fmt"
)

// DeriveUUID returns a name-based UUID (RFC 9562 version 8, from SHA-256)
// for one purpose ("root-fs", "esp-part", …) of the image named seed. Equal
// inputs give equal UUIDs, so a rebuild from the same inputs gets the same
// file system and partition identities.
func DeriveUUID(seed, purpose string) string {
	h := sha256.Sum256([]byte("invenio-infra/disk\x00" + seed + "\x00" + purpose))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// volumeID returns a FAT volume serial (8 hex digits) derived like DeriveUUID.
func volumeID(seed, purpose string) string {
	h := sha256.Sum256([]byte("invenio-infra/disk\x00" + seed + "\x00" + purpose))
	return fmt.Sprintf("%x", h[:4])
}
