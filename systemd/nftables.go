package systemd

// unitNftables is Debian's nftables.service: a oneshot that flushes the
// ruleset and loads /etc/nftables.conf on start and reload, and flushes it
// on stop. Debian does not enable it.
const unitNftables = "nftables.service"

// NftablesDropIn is nftables.service's drop-in: after Debian's
// /etc/nftables.conf (which the admin keeps), on start and on reload, it
// loads ruleset too. A oneshot runs its ExecStart= lines in order, and
// Debian's first line flushes the ruleset, so a reload never doubles rules.
func NftablesDropIn(ruleset string) []byte {
	u := newDropIn(unitNftables, "Loads "+ruleset+" after Debian's /etc/nftables.conf.")
	u.Add("Service", "ExecStart", "/usr/sbin/nft -f "+ruleset)
	u.Add("Service", "ExecReload", "/usr/sbin/nft -f "+ruleset)
	return u.Bytes()
}
