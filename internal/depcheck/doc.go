// Package depcheck holds the layering test of invenio-infra (in the manner
// of go-containerregistry's depcheck test): a table of which of our
// packages may import which, checked against `go list` on every test run,
// so that a new import across the layers fails a test instead of slowly
// tangling the packages. It has no code of its own.
//
// The layers, from the bottom: internal/ (one package per shared job) and
// systemd; site (the domain data); packaging; roles; the image builders in
// images/ and the runtime helpers vm/ and topology/; release (packages →
// repository → images); boottest; cmd, which only parses flags and calls
// the libraries. testing/ and internal/golden are for tests alone: no
// other non-test package imports them, and only they import the standard
// library's package testing.
package depcheck
