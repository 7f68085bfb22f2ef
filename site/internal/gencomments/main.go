// Command gencomments writes the doc comments of a Go package's types and
// fields to a JSON file, so that a binary can describe its types without
// their source. Run it through "go generate" in the package's directory.
package main

import (
	"flag"
	"fmt"
	"os"

	"gitlab.tugraz.at/invenio/invenio-infra/site/internal/doccomment"
)

func main() {
	dir := flag.String("dir", ".", "directory of the package")
	pkg := flag.String("pkg", "", "import path of the package")
	out := flag.String("o", "", "output file")
	flag.Parse()
	if *pkg == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gencomments -pkg IMPORTPATH -o FILE [-dir DIR]")
		os.Exit(2)
	}
	if err := run(*dir, *pkg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencomments:", err)
		os.Exit(1)
	}
}

// run extracts the comments and writes them to out.
func run(dir, pkg, out string) error {
	comments, err := doccomment.Extract(dir, pkg)
	if err != nil {
		return err
	}
	data, err := doccomment.Marshal(comments)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}
