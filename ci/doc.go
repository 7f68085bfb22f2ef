// Package ci tests the GitLab CI pipeline (.gitlab-ci.yml) like code: its
// structure (stage order, artefacts, reports, publishing only on tags, no
// secrets), that every invenio-infra command and flag its jobs call exists,
// that its image matrix matches the site, that gitlab-ci-local reads it, that
// its jobs pass their artefacts along and that a broken job fails it, what
// scripts/publish sends to GitLab, and how scripts/fuzz judges a fuzz run.
//
// Its subpackages turn `go test -json` into the JUnit report the test job
// publishes (testreport, and the command gotestjunit).
package ci
