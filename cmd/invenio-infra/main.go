// Command invenio-infra builds an InvenioRDM deployment's Debian packages,
// apt repository and VM images from one site file.
package main

func main() {}
