package systemd

import (
	"sort"
	"strings"

	"gitlab.tugraz.at/invenio/invenio-infra/internal/escape"
)

// HardenOptions says what one of our own services needs from the system;
// Harden confines it to exactly that.
//
// MemoryDenyWriteExecute is on unless AllowWriteExecute is set. CPython 3.11
// (Debian 12) has no JIT, uWSGI and Celery map no writable-executable memory,
// and ctypes callbacks go through libffi 3.4's static trampolines, so the
// InvenioRDM processes run with it. What breaks is code that asks for W+X
// memory itself: cffi's ffi.callback() fails with "Cannot allocate
// write+execute memory" where cffi uses its own closure allocator rather
// than libffi's (pyOpenSSL verify and passphrase callbacks are the usual
// case), and so does any JIT (PyPy, LLVM, a JVM). Set AllowWriteExecute for
// a unit that runs such code; the boot test of the real application decides.
type HardenOptions struct {
	// ReadWritePaths are the only places the service may write (everything
	// else is read-only under ProtectSystem=strict). A leading "-" ignores a
	// missing path; a missing path without it fails the start.
	ReadWritePaths []string
	// Network allows IPv4 and IPv6 sockets besides AF_UNIX. Without it the
	// service gets its own empty network namespace (PrivateNetwork=yes).
	Network bool
	// IPAddressAllow, when set, restricts IP traffic to these addresses or
	// prefixes ("localhost", "192.0.2.10", "10.0.0.0/24") and denies the rest.
	IPAddressAllow []string
	// Root is for a unit that runs as root (no User=): it gets Capabilities as
	// its bounding set and keeps the set*id system calls when those
	// capabilities ask for them. Units with User= get no capabilities at all.
	Root bool
	// Capabilities is a root unit's bounding set, e.g. CAP_SETUID for
	// runuser, CAP_CHOWN and CAP_DAC_OVERRIDE to write files owned by others.
	Capabilities []string
	// AllowWriteExecute leaves MemoryDenyWriteExecute off (see above).
	AllowWriteExecute bool
	// SystemCalls are extra system calls or groups allowed besides
	// @system-service, e.g. "seccomp".
	SystemCalls []string
}

// Harden adds the sandbox that opts describes to u's [Service] section,
// replacing any earlier value of the settings it writes. It does not set
// User=/Group=: the unit names its user itself.
//
// With these settings a unit running as a system user scores 1.1 ("OK") in
// `systemd-analyze security`, a root unit with a few capabilities 1.5 to
// 2.0; hardening_test.go measures them.
func Harden(u *Unit, opts HardenOptions) {
	s := ownSandbox(opts)
	s.apply(u)
}

// HardenDirectives returns the [Service] lines Harden writes, one per line
// and without a section header, for unit templates.
func HardenDirectives(opts HardenOptions) string {
	u := NewUnit()
	Harden(u, opts)
	var b strings.Builder
	for _, o := range u.lookup("Service").Options {
		b.WriteString(o.Key + "=" + o.Value + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ownSandbox maps HardenOptions onto the sandbox of one of our services.
func ownSandbox(opts HardenOptions) sandbox {
	s := sandbox{
		root:          opts.Root,
		readWrite:     opts.ReadWritePaths,
		ipAllow:       opts.IPAddressAllow,
		noNewPrivs:    true,
		writeExecute:  opts.AllowWriteExecute,
		privateUsers:  !opts.Root,
		protectHome:   "yes",
		umask:         "0027",
		extraSyscalls: opts.SystemCalls,
		families:      []string{"AF_UNIX"},
	}
	if opts.Network {
		s.families = append(s.families, "AF_INET", "AF_INET6")
	} else {
		s.privateNetwork = true
	}
	if opts.Root {
		s.caps = opts.Capabilities
	} else {
		s.denyResources = true
	}
	return s
}

// sandbox is one service's confinement: the common ground of Harden (our
// units) and the drop-ins for Debian's units.
type sandbox struct {
	root           bool     // starts as root, so caps is its bounding set
	caps           []string // bounding set of a root service
	readWrite      []string // ReadWritePaths=
	families       []string // RestrictAddressFamilies=
	privateNetwork bool     // PrivateNetwork=yes
	ipAllow        []string // IPAddressAllow= (with IPAddressDeny=any)
	noNewPrivs     bool     // NoNewPrivileges=yes
	writeExecute   bool     // leave MemoryDenyWriteExecute off (JITs)
	privateUsers   bool     // PrivateUsers=yes
	procSubset     bool     // ProcSubset=pid (hides /proc/meminfo, /proc/sys, ...)
	protectHome    string   // ProtectHome=
	umask          string   // UMask=, empty keeps the unit's
	denyResources  bool     // SystemCallFilter=~@resources
	extraSyscalls  []string // allowed besides @system-service
	dropIn         bool     // reset list settings the packaged unit may set
}

// apply writes the sandbox into u's [Service] section.
func (s sandbox) apply(u *Unit) {
	s.applyFiles(u)
	s.applyPrivileges(u)
	s.applyNetwork(u)
	s.applyKernel(u)
	s.applySyscalls(u)
}

// applyFiles confines what the service sees and may write.
func (s sandbox) applyFiles(u *Unit) {
	u.Set("Service", "ProtectSystem", "strict")
	u.Del("Service", "ReadWritePaths")
	u.Add("Service", "ReadWritePaths", joinNonEmpty(s.readWrite)...)
	u.Set("Service", "ProtectHome", s.protectHome)
	for _, k := range []string{"PrivateTmp", "PrivateDevices", "PrivateMounts"} {
		u.Set("Service", k, "yes")
	}
	u.Set("Service", "ProtectProc", "invisible")
	if s.procSubset {
		u.Set("Service", "ProcSubset", "pid")
	}
	if s.umask != "" {
		u.Set("Service", "UMask", s.umask)
	}
}

// applyPrivileges limits identities and capabilities.
func (s sandbox) applyPrivileges(u *Unit) {
	if s.privateUsers {
		u.Set("Service", "PrivateUsers", "yes")
	}
	if s.noNewPrivs {
		u.Set("Service", "NoNewPrivileges", "yes")
	}
	s.setList(u, "CapabilityBoundingSet", sortedCopy(s.caps))
	s.setList(u, "AmbientCapabilities", nil)
	u.Set("Service", "RestrictSUIDSGID", "yes")
	if !s.root {
		u.Set("Service", "RemoveIPC", "yes")
	}
	u.Set("Service", "KeyringMode", "private")
}

// applyNetwork limits socket families and peers.
func (s sandbox) applyNetwork(u *Unit) {
	if s.privateNetwork {
		u.Set("Service", "PrivateNetwork", "yes")
	}
	s.setList(u, "RestrictAddressFamilies", s.families)
	if len(s.ipAllow) > 0 {
		u.Set("Service", "IPAddressDeny", "any")
		u.Del("Service", "IPAddressAllow")
		u.Add("Service", "IPAddressAllow", strings.Join(s.ipAllow, " "))
	}
}

// applyKernel keeps the service away from kernel and host-wide settings.
func (s sandbox) applyKernel(u *Unit) {
	for _, k := range []string{
		"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
		"ProtectControlGroups", "ProtectClock", "ProtectHostname",
		"RestrictNamespaces", "RestrictRealtime", "LockPersonality",
	} {
		u.Set("Service", k, "yes")
	}
	if !s.writeExecute {
		u.Set("Service", "MemoryDenyWriteExecute", "yes")
	}
}

// applySyscalls installs the system call filter. Denied calls fail with
// EPERM instead of killing the process, so a missed call shows up as an
// error message rather than a core dump.
func (s sandbox) applySyscalls(u *Unit) {
	u.Set("Service", "SystemCallArchitectures", "native")
	u.Del("Service", "SystemCallFilter")
	if s.dropIn {
		u.Add("Service", "SystemCallFilter", "")
	}
	u.Add("Service", "SystemCallFilter", "@system-service")
	u.Add("Service", "SystemCallFilter", "~"+strings.Join(s.deniedGroups(), " "))
	if len(s.extraSyscalls) > 0 {
		u.Add("Service", "SystemCallFilter", strings.Join(s.extraSyscalls, " "))
	}
	u.Set("Service", "SystemCallErrorNumber", "EPERM")
}

// deniedGroups are the system call groups removed from @system-service. A
// root service that changes user keeps @privileged (setuid, setgroups,
// chown live there) and loses its other members group by group. Only units
// with User= lose @resources (see HardenOptions on pam_limits).
func (s sandbox) deniedGroups() []string {
	var deny []string
	if s.root && s.changesIdentity() {
		deny = []string{"@clock", "@cpu-emulation", "@debug", "@module", "@mount",
			"@obsolete", "@raw-io", "@reboot", "@swap"}
	} else {
		deny = []string{"@privileged"}
	}
	if s.denyResources {
		deny = append(deny, "@resources")
	}
	return deny
}

// changesIdentity reports whether the bounding set lets the service switch
// users or hand files to other users.
func (s sandbox) changesIdentity() bool {
	for _, c := range s.caps {
		switch c {
		case "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER":
			return true
		}
	}
	return false
}

// setList writes a list-valued setting as one line. In a drop-in it first
// resets whatever the packaged unit set, because these lists merge across
// files. An empty list is written as an empty assignment, which for
// CapabilityBoundingSet= means "no capabilities".
func (s sandbox) setList(u *Unit, key string, values []string) {
	u.Del("Service", key)
	if s.dropIn && len(values) > 0 {
		u.Add("Service", key, "")
	}
	u.Add("Service", key, strings.Join(values, " "))
}

// joinNonEmpty returns the paths as one space-separated value, or none.
func joinNonEmpty(paths []string) []string {
	if len(paths) == 0 {
		return nil
	}
	words := make([]string, len(paths))
	for i, p := range paths {
		words[i] = escape.UnitWord(p)
	}
	return []string{strings.Join(words, " ")}
}

// sortedCopy returns a sorted copy, so a unit does not change with the
// order in which a caller lists capabilities.
func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
