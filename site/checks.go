package site

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Patterns of the names and values a site file holds.
var (
	// namePattern is what site and instance names look like; an instance name
	// is also an apt suite and part of file names.
	namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	// hostLabel is one RFC 1123 label: what a host name is.
	hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// packagePattern is a Debian package name (Policy §5.6.1).
	packagePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	// dottedName is a Python dotted name such as "invenio_app.celery".
	dottedName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	// wsgiModule is a uWSGI module reference "package.module:attribute".
	wsgiModule = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$`)
	// maintainerPattern is Debian's "Full Name <address>".
	maintainerPattern = regexp.MustCompile(`^[^<>@,]*[^<>@,\s] <[^<>@\s]+@[^<>@\s]+\.[^<>@\s.]+>$`)
	// clusterName is a search engine cluster name.
	clusterName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// aptWord is an apt suite or component as a sources file holds it.
	aptWord = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~/-]{0,63}$`)
	// mountSource is a mount source: host:/path, monitors,list:/path, or
	// [IPv6]:/path.
	mountSource = regexp.MustCompile(`^[A-Za-z0-9.\[\]:,_-]{1,200}:/[A-Za-z0-9._+@/-]{0,200}$`)
	// mountOption is one mount option, name or name=value.
	mountOption = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}(=[A-Za-z0-9_.+@/:-]{1,200})?$`)
	// suitePattern is a Debian suite or codename.
	suitePattern = regexp.MustCompile(`^[a-z][a-z0-9.-]*$`)
)

// checkHostLabel returns why name is not a single RFC 1123 label, or nil.
func checkHostLabel(name string) error {
	switch {
	case strings.Contains(name, "."):
		return errors.New("is a dotted name; a host name is a single label")
	case len(name) > 63:
		return errors.New("is longer than 63 characters")
	case !hostLabel.MatchString(name):
		return errors.New("is not a host name: use letters, digits and inner dashes")
	}
	return nil
}

// checkDomain returns why name is not a DNS name of RFC 1123 labels, or nil.
func checkDomain(name string) error {
	if len(name) > 253 {
		return errors.New("is longer than 253 characters")
	}
	for label := range strings.SplitSeq(name, ".") {
		if !hostLabel.MatchString(label) {
			return errors.New("is not a DNS name")
		}
	}
	return nil
}

// checkAddress parses a host's address and returns why it is not a usable
// unicast IPv4 or IPv6 address.
func checkAddress(s string) (netip.Addr, error) {
	if _, err := netip.ParsePrefix(s); err == nil {
		return netip.Addr{}, errors.New("is a prefix; write the address without /length")
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return a, errors.New("is not an IPv4 or IPv6 address")
	case a.Zone() != "":
		return a, errors.New("has a zone; write the address without %zone")
	case a.IsUnspecified():
		return a, errors.New("is the unspecified address")
	case a.IsMulticast():
		return a, errors.New("is a multicast address")
	case a.IsLoopback():
		return a, errors.New("is a loopback address; write the host's address on the internal network")
	case a.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, errors.New("is the broadcast address")
	}
	return a.Unmap(), nil
}

// urlRule says which URLs a field takes.
type urlRule struct {
	schemes  []string // allowed schemes
	rootOnly bool     // no path beyond "/"
	example  string   // for hints
}

// The URLs a site file holds.
var (
	// instanceURL is where users reach an instance.
	instanceURL = urlRule{schemes: []string{"https", "http"}, rootOnly: true, example: "https://invenio.example.org"}
	// repositoryURL is an apt repository or a Debian mirror.
	repositoryURL = urlRule{schemes: []string{"http", "https", "file"}, example: "http://mirror.example.org/debian"}
)

// checkURL returns why raw does not follow rule, or nil.
func checkURL(raw string, rule urlRule) error {
	if raw == "" {
		return errors.New("is empty")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return errors.New("contains white space")
	}
	if len(raw) > maxURL {
		return fmt.Errorf("is %d characters long; at most %d", len(raw), maxURL)
	}
	if err := checkURLChars(raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("is not a URL with a scheme (%s)", strings.Join(rule.schemes, ", "))
	}
	if !slices.Contains(rule.schemes, u.Scheme) {
		return fmt.Errorf("has the scheme %q; use %s", u.Scheme, strings.Join(rule.schemes, " or "))
	}
	if u.Scheme == "file" {
		return checkFileURL(u)
	}
	return checkHTTPURL(u, rule.rootOnly)
}

// checkFileURL checks a file: URL, which names an absolute local directory.
func checkFileURL(u *url.URL) error {
	switch {
	case u.Host != "" && u.Host != "localhost":
		return fmt.Errorf("names the host %q; a file URL is local: file:///path", u.Host)
	case !path.IsAbs(u.Path):
		return errors.New("has no absolute path; write file:///path")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("has a query or fragment")
	}
	return nil
}

// checkHTTPURL checks an http or https URL.
func checkHTTPURL(u *url.URL, rootOnly bool) error {
	switch {
	case u.Opaque != "" || u.Host == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("has user information; put credentials elsewhere")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("has a query or fragment")
	case rootOnly && u.Path != "" && u.Path != "/":
		return fmt.Errorf("has the path %q; InvenioRDM must be served at the root", u.Path)
	}
	if err := checkURLHost(u); err != nil {
		return err
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port %q", p)
		}
	}
	return nil
}

// checkSmarthost returns why s is not Exim's "host" or "host::port", or nil.
func checkSmarthost(s string) error {
	host, port, hasPort := strings.Cut(s, "::")
	if strings.HasPrefix(s, "[") {
		// An IPv6 address in brackets: "[2001:db8::25]::587".
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return errors.New("has an unclosed \"[\"")
		}
		host = s[1:end]
		port, hasPort = strings.CutPrefix(s[end+1:], "::")
		if !hasPort && s[end+1:] != "" {
			return errors.New("has something other than \"::port\" after \"]\"")
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Errorf("has %q in brackets, which is not an IPv6 address", host)
		}
	} else if !hasPort && strings.Count(s, ":") == 1 {
		return errors.New("has a single colon; Exim separates the port with two")
	}
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port %q", port)
		}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if checkDomain(host) != nil {
		return fmt.Errorf("names %q, which is not a host name or address", host)
	}
	return nil
}

// checkAbsPath returns why p is not an absolute, clean path, or nil.
func checkAbsPath(p string) error {
	switch {
	case !path.IsAbs(p):
		return errors.New("is not an absolute path")
	case path.Clean(p) != p:
		return fmt.Errorf("is not a clean path (%s)", path.Clean(p))
	}
	return nil
}
