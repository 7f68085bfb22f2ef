package debroot

import "gitlab.tugraz.at/invenio/invenio-infra/site"

// HostMirror returns the Debian mirror URI that roots are bootstrapped from
// when Options.Mirror is empty: the one the host's own apt sources name, as
// site.HostMirror reads them. Tests may replace it.
var HostMirror = func() (string, error) { return site.HostMirror("/") }
