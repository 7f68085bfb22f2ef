package bake

import (
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// The image carries no per-machine keys (scrub.Root removes them); these
// files make each machine its own on first boot. Both kinds are elliptic
// curve keys (Ed25519 and ECDSA host keys, a P-256 snakeoil key): the same
// or greater strength than the RSA-3072 host key and RSA-2048 snakeoil key
// they replace, made without a prime search on the first boot's critical
// path, and one SSH host key fewer (under TCG, cloud-init's init stage
// took 15 s less CPU without the RSA host key: see the README).

// HostKeyTypes are the SSH host key types a machine makes on first boot
// and sshd serves, in the order of seed.ImageCloudConfig's
// ssh_genkeytypes.
var HostKeyTypes = []string{"ed25519", "ecdsa"}

// sshdHostKeys makes sshd serve only the host keys of HostKeyTypes
// (HostKey lines replace sshd's default list, which has RSA).
var sshdHostKeys = "# invenio-infra: host keys made on first boot, no RSA key.\n" + hostKeyLines()

func hostKeyLines() string {
	var b strings.Builder
	for _, t := range HostKeyTypes {
		b.WriteString("HostKey /etc/ssh/ssh_host_" + t + "_key\n")
	}
	return b.String()
}

// hostKeysScript makes each host key of HostKeyTypes that is missing.
// ssh-keygen -A is not used: it would add an RSA key.
var hostKeysScript = "for t in " + strings.Join(HostKeyTypes, " ") + `; do f=/etc/ssh/ssh_host_${t}_key; [ -e "$f" ] || ssh-keygen -q -N "" -t "$t" -f "$f"; done`

// sshHostKeysDropIn makes the host keys before sshd's config test, should
// cloud-init not have made them (no seed, or cloud-init disabled), and
// orders sshd after cloud-init, which makes them from the seed's settings.
var sshHostKeysDropIn = `# invenio-infra: the image carries no SSH host keys; they are made on first boot.
[Unit]
After=cloud-init.service

[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c ` + escape.ExecArg(hostKeysScript) + `
ExecStartPre=/usr/sbin/sshd -t
`

// snakeoilService is the name of snakeoilUnit.
const snakeoilService = "invenio-snakeoil.service"

// Snakeoil's files, where ssl-cert's make-ssl-cert puts them.
const (
	snakeoilKey  = "/etc/ssl/private/ssl-cert-snakeoil.key"
	snakeoilCert = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
)

// snakeoilScript makes a self-signed certificate ($2) and its P-256 key
// ($1, mode 640, group $3) for this machine, as ssl-cert's make-ssl-cert
// generate-default-snakeoil does but with an elliptic curve key instead of
// RSA-2048: the host's FQDN (its name, where it has none) as subjectAltName
// and as CN (the short name where the FQDN is longer than a CN may be),
// valid for ten years. It writes beside the targets and renames, so that a
// failed run leaves no key that the unit's condition would take as made.
const snakeoilScript = `set -eu
umask 077
fqdn=$(hostname --fqdn 2>/dev/null) || fqdn=$(hostname)
cn=$fqdn
[ ${#cn} -le 64 ] || cn=$(hostname --short)
openssl req -x509 -new -noenc -days 3650 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 \
	-subj "/CN=$cn" -addext "subjectAltName=DNS:$fqdn" -keyout "$1.new" -out "$2.new" 2>/dev/null
chgrp "$3" "$1.new"
chmod 640 "$1.new"
chmod 644 "$2.new"
mv "$2.new" "$2"
mv "$1.new" "$1"
`

// snakeoilUnit makes the machine's own snakeoil certificate and key
// (ssl-cert's, which PostgreSQL serves with ssl = on) on first boot, before
// any service starts: the bake made one, and scrub.Root removes it, since
// every host of the image would share its key. It is skipped where ssl-cert
// is not installed or the key exists.
var snakeoilUnit = `# invenio-infra: the image carries no snakeoil key; each machine makes its own.
[Unit]
Description=Make this machine's snakeoil TLS certificate and key
DefaultDependencies=no
After=local-fs.target cloud-init.service
Before=sysinit.target shutdown.target
Conflicts=shutdown.target
ConditionPathExists=/usr/sbin/make-ssl-cert
ConditionPathExists=!` + snakeoilKey + `

[Service]
Type=oneshot
ExecStart=/bin/sh -c ` + escape.ExecArg(snakeoilScript) + " snakeoil " + snakeoilKey + " " + snakeoilCert + ` ssl-cert

[Install]
WantedBy=sysinit.target
`
