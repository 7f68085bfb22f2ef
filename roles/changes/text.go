package changes

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: one block per host that changes,
// with its version change, units added and removed, and each file's diff.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	changed := 0
	for _, h := range r.Hosts {
		if h.Empty() {
			continue
		}
		changed++
		fmt.Fprintf(&b, "== %s/%s", h.Instance, h.Host)
		if h.Status != "" {
			fmt.Fprintf(&b, " (host %s)", h.Status)
		}
		if h.FromVersion != h.ToVersion {
			fmt.Fprintf(&b, "  packages %s → %s", orUnknown(h.FromVersion), orUnknown(h.ToVersion))
		}
		b.WriteString("\n")
		writeList(&b, "units added", h.UnitsAdded)
		writeList(&b, "units removed", h.UnitsRemoved)
		if len(h.Files) == 0 {
			b.WriteString("no file changes\n")
		}
		for _, f := range h.Files {
			fmt.Fprintf(&b, "%s %s\n", f.Status, f.Path)
			b.WriteString(f.Diff)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d of %d hosts change from %s to %s\n", changed, len(r.Hosts), r.From, r.To)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeList(b *strings.Builder, what string, items []string) {
	if len(items) > 0 {
		fmt.Fprintf(b, "%s: %s\n", what, strings.Join(items, ", "))
	}
}

func orUnknown(v string) string {
	if v == "" {
		return "(unknown)"
	}
	return v
}
